package io.opsscaffold.errors;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one place where failures become wire errors: a gRPC {@link Status} for gRPC callers, and the
 * HTTP status code for transcoded callers. Unexpected exceptions are logged here with their stack
 * trace and reach the caller as INTERNAL with no trace attached.
 */
public final class ErrorMapper {
  private static final Logger LOG = Logger.getLogger(ErrorMapper.class.getName());

  private ErrorMapper() {}

  /** The status to send for {@code error}; never UNKNOWN, never carrying a stack trace. */
  public static Status toStatus(Throwable error) {
    Throwable e = unwrap(error);
    if (e instanceof OpsException ops) {
      return Status.fromCode(code(ops.kind())).withDescription(ops.getMessage());
    }
    if (e instanceof StatusRuntimeException sre) {
      return sre.getStatus().withCause(null);
    }
    if (e instanceof StatusException se) {
      return se.getStatus().withCause(null);
    }
    String reference = java.util.UUID.randomUUID().toString().substring(0, 8);
    LOG.log(
        Level.SEVERE,
        "unexpected failure while serving a request (reference " + reference + ")",
        e);
    return Status.INTERNAL.withDescription(
        "internal error; the server log has the details under reference " + reference);
  }

  /** The gRPC code of a failure {@code kind}. */
  public static Status.Code code(OpsException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.Code.NOT_FOUND;
      case CONFLICT -> Status.Code.ABORTED;
      case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
      case UNAVAILABLE -> Status.Code.UNAVAILABLE;
      case TIMED_OUT -> Status.Code.DEADLINE_EXCEEDED;
      case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
      case PERMISSION_DENIED -> Status.Code.PERMISSION_DENIED;
      case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
      case INTERNAL -> Status.Code.INTERNAL;
    };
  }

  /**
   * Answers a unary call: the value of {@code call}, or its failure mapped by {@link #toStatus}.
   * For service methods that compute their answer synchronously.
   */
  public static <T> void reply(
      io.grpc.stub.StreamObserver<T> out, java.util.function.Supplier<T> call) {
    T result;
    try {
      result = call.get();
    } catch (RuntimeException e) {
      out.onError(toException(e));
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }

  /**
   * Answers a unary call whose value comes later: {@code call} starts the work (a failure to start
   * is answered at once), the future's value or failure is answered when it completes.
   */
  public static <T> void replyLater(
      io.grpc.stub.StreamObserver<T> out,
      java.util.function.Supplier<java.util.concurrent.CompletableFuture<T>> call) {
    java.util.concurrent.CompletableFuture<T> future;
    try {
      future = call.get();
    } catch (RuntimeException e) {
      out.onError(toException(e));
      return;
    }
    future.whenComplete(
        (value, error) -> {
          if (error != null) {
            out.onError(toException(error));
          } else {
            out.onNext(value);
            out.onCompleted();
          }
        });
  }

  /** {@link #toStatus} as an exception for {@code StreamObserver.onError}. */
  public static StatusRuntimeException toException(Throwable error) {
    return toStatus(error).asRuntimeException();
  }

  /** The HTTP status code for a gRPC code, as transcoded clients see it. */
  public static int httpStatus(Status.Code code) {
    return switch (code) {
      case OK -> 200;
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> 400;
      case UNAUTHENTICATED -> 401;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case CANCELLED -> 499;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      case DEADLINE_EXCEEDED -> 504;
      default -> 500;
    };
  }

  private static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
