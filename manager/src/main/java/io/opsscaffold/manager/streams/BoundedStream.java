package io.opsscaffold.manager.streams;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A server stream fed by a producer that must never wait for it: events go into a queue that a
 * virtual thread drains into the stream. When more than {@code capacity} live events wait, the
 * client is too slow; it is ended with RESOURCE_EXHAUSTED (naming {@code what}) instead of slowing
 * the producer. A snapshot sent when the watch begins ({@link #preload}) does not count against the
 * capacity: its size is known and bounded by the data itself.
 *
 * <p>All methods are thread-safe and never block. Must be created on the call's own thread (it
 * installs the cancel handler), i.e. in the service method.
 */
public final class BoundedStream<T> {
  private record Entry<T>(T event, boolean live) {}

  private final ServerCallStreamObserver<T> out;
  private final BlockingQueue<Entry<T>> queue = new LinkedBlockingQueue<>();
  private final AtomicInteger live = new AtomicInteger();
  private final int capacity;
  private final String what;
  private final Consumer<BoundedStream<T>> onEnd;
  private volatile Status closing;
  private volatile boolean closed;
  private volatile boolean finishing;

  /**
   * @param capacity live events that may wait before the client counts as too slow
   * @param what the events, for the RESOURCE_EXHAUSTED message, e.g. "alert events"
   * @param onEnd runs once when the stream ends for any reason (unregister here)
   */
  public BoundedStream(
      ServerCallStreamObserver<T> out,
      int capacity,
      String what,
      Consumer<BoundedStream<T>> onEnd) {
    this.out = out;
    this.capacity = capacity;
    this.what = what;
    this.onEnd = onEnd;
    out.setOnCancelHandler(() -> close(null));
    Thread.ofVirtual().name("stream-" + what.replace(' ', '-')).start(this::drain);
  }

  /** Queues a snapshot event; these do not count against the capacity. */
  public void preload(T event) {
    if (!closed) {
      queue.add(new Entry<>(event, false));
    }
  }

  /** Queues a live event; ends the stream when the client has fallen too far behind. */
  public void offer(T event) {
    if (closed) {
      return;
    }
    if (live.incrementAndGet() > capacity) {
      close(
          Status.RESOURCE_EXHAUSTED.withDescription(
              "this watcher fell "
                  + capacity
                  + " "
                  + what
                  + " behind and was dropped; watch again"));
      return;
    }
    queue.add(new Entry<>(event, true));
  }

  /** Ends the stream normally once everything queued so far is sent. */
  public void finish() {
    finishing = true;
  }

  /** Whether the stream has ended or is ending. */
  public boolean closed() {
    return closed;
  }

  /**
   * Ends the stream: with {@code why} as its error, or silently (the client went away) when null.
   */
  public void close(Status why) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closing = why;
      closed = true;
    }
    queue.clear();
    onEnd.accept(this);
  }

  private void drain() {
    try {
      while (!closed) {
        Entry<T> e = queue.poll(finishing ? 0 : 200, TimeUnit.MILLISECONDS);
        if (e == null) {
          if (finishing && queue.isEmpty()) {
            close(null);
            out.onCompleted();
            return;
          }
          continue;
        }
        if (e.live()) {
          live.decrementAndGet();
        }
        if (!closed) {
          out.onNext(e.event());
        }
      }
      if (closing != null) {
        out.onError(closing.asRuntimeException());
      }
    } catch (InterruptedException | RuntimeException e) {
      close(null);
    }
  }
}
