package io.opsscaffold.transcoding;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.function.Consumer;

/**
 * A {@link ServerCall} that lives inside the process: the transcoder feeds a request message
 * straight to the service's call handler (the same handler, with the same interceptors, that serves
 * gRPC), and receives response messages and the closing status through callbacks.
 *
 * <p>Callbacks run on whatever thread the service uses to respond; they must not block for long.
 */
final class LocalServerCall<Q, R> extends ServerCall<Q, R> {
  private final MethodDescriptor<Q, R> method;
  private final Consumer<R> onMessage;
  private final java.util.function.BiConsumer<Status, Metadata> onClose;
  private volatile boolean cancelled;

  LocalServerCall(
      MethodDescriptor<Q, R> method,
      Consumer<R> onMessage,
      java.util.function.BiConsumer<Status, Metadata> onClose) {
    this.method = method;
    this.onMessage = onMessage;
    this.onClose = onClose;
  }

  void cancel() {
    cancelled = true;
  }

  @Override
  public void request(int numMessages) {
    // Messages are pushed by the transcoder; flow control is not needed in-process.
  }

  @Override
  public void sendHeaders(Metadata headers) {}

  @Override
  public void sendMessage(R message) {
    onMessage.accept(message);
  }

  @Override
  public void close(Status status, Metadata trailers) {
    onClose.accept(status, trailers);
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public boolean isReady() {
    return !cancelled;
  }

  @Override
  public Attributes getAttributes() {
    return Attributes.EMPTY;
  }

  @Override
  public MethodDescriptor<Q, R> getMethodDescriptor() {
    return method;
  }
}
