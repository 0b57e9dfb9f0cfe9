package io.opsscaffold.errors;

/**
 * The domain's one exception family: something a caller did or asked for that cannot be done, with
 * a message a person can act on. {@link ErrorMapper} turns it into a gRPC status and an HTTP answer.
 */
public final class OpsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What kind of failure; each maps to one gRPC code and one HTTP status. */
  public enum Kind {
    INVALID_ARGUMENT,
    NOT_FOUND,
    CONFLICT,
    UNAVAILABLE,
    TIMED_OUT
  }

  private final Kind kind;

  private OpsException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  /** A request field is wrong; the message names the field and what is valid. */
  public static OpsException invalidArgument(String message) {
    return new OpsException(Kind.INVALID_ARGUMENT, message);
  }

  /** A named node, agent or operation does not exist; the message names it. */
  public static OpsException notFound(String message) {
    return new OpsException(Kind.NOT_FOUND, message);
  }

  /** The request conflicts with the current state (e.g. an ambiguous id). */
  public static OpsException conflict(String message) {
    return new OpsException(Kind.CONFLICT, message);
  }

  /** Something needed is not reachable now (e.g. the node's daemon is not connected); retry later. */
  public static OpsException unavailable(String message) {
    return new OpsException(Kind.UNAVAILABLE, message);
  }

  /** A deadline passed; the message says which command timed out. */
  public static OpsException timedOut(String message) {
    return new OpsException(Kind.TIMED_OUT, message);
  }
}
