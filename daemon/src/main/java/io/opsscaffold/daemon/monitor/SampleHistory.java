package io.opsscaffold.daemon.monitor;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/** The most recent samples of one source, capped in count. Thread-safe. */
public final class SampleHistory<T> {
  private final int capacity;
  private final Deque<T> samples;
  private final java.util.function.Function<T, Instant> time;

  public SampleHistory(int capacity, java.util.function.Function<T, Instant> time) {
    this.capacity = capacity;
    this.samples = new ArrayDeque<>(capacity);
    this.time = time;
  }

  public synchronized void add(T sample) {
    if (samples.size() == capacity) {
      samples.removeFirst();
    }
    samples.addLast(sample);
  }

  /** Samples taken within {@code window} before {@code now}, oldest first. */
  public synchronized List<T> since(Instant now, Duration window) {
    Instant from = now.minus(window);
    List<T> out = new ArrayList<>();
    for (T s : samples) {
      if (!time.apply(s).isBefore(from)) {
        out.add(s);
      }
    }
    return out;
  }

  public synchronized java.util.Optional<T> latest() {
    return java.util.Optional.ofNullable(samples.peekLast());
  }
}
