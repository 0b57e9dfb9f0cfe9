package io.opsscaffold.manager.streams;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A server call's response side that records what a service sends; for unit tests of streaming
 * services.
 */
public final class RecordingCall<T> extends ServerCallStreamObserver<T> {
  public final List<T> sent = new CopyOnWriteArrayList<>();

  /** Completes with OK on onCompleted, with the status on onError. */
  public final CompletableFuture<Status> ended = new CompletableFuture<>();

  private volatile Runnable onCancel = () -> {};
  private volatile boolean cancelled;

  /** The client goes away. */
  public void cancel() {
    cancelled = true;
    onCancel.run();
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public void setOnCancelHandler(Runnable onCancelHandler) {
    this.onCancel = onCancelHandler;
  }

  @Override
  public void setCompression(String compression) {}

  @Override
  public boolean isReady() {
    return true;
  }

  @Override
  public void setOnReadyHandler(Runnable onReadyHandler) {}

  @Override
  public void request(int count) {}

  @Override
  public void setMessageCompression(boolean enable) {}

  @Override
  public void disableAutoInboundFlowControl() {}

  @Override
  public void onNext(T value) {
    sent.add(value);
  }

  @Override
  public void onError(Throwable t) {
    ended.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    ended.complete(Status.OK);
  }
}
