package io.opsscaffold.errors;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;

/** How a server interceptor refuses a call. Stateless. */
public final class Refusal {
  private Refusal() {}

  /**
   * A listener that ends {@code call} with {@code status} at the call's first event, for an
   * interceptor to return instead of starting the call: Helidon's gRPC server fails when a call is
   * closed before the interceptor has returned its listener.
   */
  public static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    AtomicBoolean closed = new AtomicBoolean();
    Runnable close =
        () -> {
          if (closed.compareAndSet(false, true)) {
            call.close(status, new Metadata());
          }
        };
    return new ServerCall.Listener<>() {
      @Override
      public void onReady() {
        close.run();
      }

      @Override
      public void onMessage(Q message) {
        close.run();
      }

      @Override
      public void onHalfClose() {
        close.run();
      }
    };
  }
}
