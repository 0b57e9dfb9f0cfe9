package io.opsscaffold.daemon.monitor;

import java.time.Duration;
import java.util.Optional;

/**
 * Notices that this process was not running for a while: a periodic task that sees more than {@code
 * threshold} pass between two of its runs (on a monotonic clock) was paused (SIGSTOP, a suspended
 * VM, a stopped container, a very long collection). Pure; not thread-safe (owned by the task that
 * ticks).
 */
final class PauseDetector {
  private final Duration threshold;
  private long lastNanos = Long.MIN_VALUE;

  PauseDetector(Duration threshold) {
    this.threshold = threshold;
  }

  /**
   * Records a tick at {@code nanos}; the gap since the previous tick when it exceeds the threshold.
   */
  Optional<Duration> observe(long nanos) {
    long previous = lastNanos;
    lastNanos = nanos;
    if (previous == Long.MIN_VALUE) {
      return Optional.empty();
    }
    Duration gap = Duration.ofNanos(nanos - previous);
    return gap.compareTo(threshold) > 0 ? Optional.of(gap) : Optional.empty();
  }
}
