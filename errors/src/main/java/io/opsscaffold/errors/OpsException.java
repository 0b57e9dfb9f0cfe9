package io.opsscaffold.errors;

/**
 * The domain's one exception family: something a caller did or asked for that cannot be done, with
 * a message a person can act on. {@link ErrorMapper} turns it into a gRPC status and an HTTP
 * answer.
 */
public final class OpsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What kind of failure; each maps to one gRPC code and one HTTP status. */
  public enum Kind {
    INVALID_ARGUMENT,
    NOT_FOUND,
    /**
     * The request conflicts with something in progress or with the current state (ABORTED, 409).
     */
    CONFLICT,
    /**
     * The target is not in a state that allows it, and retrying will not help (FAILED_PRECONDITION,
     * 400).
     */
    FAILED_PRECONDITION,
    UNAVAILABLE,
    TIMED_OUT,
    /** No valid credential (UNAUTHENTICATED, 401). */
    UNAUTHENTICATED,
    /** A valid credential without the permission (PERMISSION_DENIED, 403). */
    PERMISSION_DENIED,
    /** A limit was reached; the message names it (RESOURCE_EXHAUSTED, 429). */
    RESOURCE_EXHAUSTED,
    /** Something failed on this side; the message says what, without internals (INTERNAL, 500). */
    INTERNAL
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

  /** The target cannot do this in its current state or configuration; retrying will not help. */
  public static OpsException failedPrecondition(String message) {
    return new OpsException(Kind.FAILED_PRECONDITION, message);
  }

  /** No valid credential came with the request; the message says what to send, never a secret. */
  public static OpsException unauthenticated(String message) {
    return new OpsException(Kind.UNAUTHENTICATED, message);
  }

  /** The caller is known but may not do this; the message names the missing permission. */
  public static OpsException permissionDenied(String message) {
    return new OpsException(Kind.PERMISSION_DENIED, message);
  }

  /** A limit was reached; the message names the setting and its value. */
  public static OpsException resourceExhausted(String message) {
    return new OpsException(Kind.RESOURCE_EXHAUSTED, message);
  }

  /**
   * Something failed on this side; the message says what without internals (no class names, no
   * paths).
   */
  public static OpsException internal(String message) {
    return new OpsException(Kind.INTERNAL, message);
  }

  /**
   * Something needed is not reachable now (e.g. the node's daemon is not connected); retry later.
   */
  public static OpsException unavailable(String message) {
    return new OpsException(Kind.UNAVAILABLE, message);
  }

  /** A deadline passed; the message says which command timed out. */
  public static OpsException timedOut(String message) {
    return new OpsException(Kind.TIMED_OUT, message);
  }
}
