package io.opsscaffold.time;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Time as the apps see it: reading it, waiting on it and scheduling work on it. Every timer the
 * apps own (restart delays, stop timeouts, grace periods, retries, scans, polls) goes through one
 * of these, so a test moves time by hand ({@code ManualTime} in the test support) instead of
 * waiting on the wall clock, as Kafka's {@code Time} and {@code MockTime} do.
 *
 * <p>{@link #system()} is the real one. Implementations are thread-safe.
 */
public interface Time {
  /** The real time, with one shared timer thread. */
  static Time system() {
    return SystemTime.INSTANCE;
  }

  /** This time as a {@link Clock} (UTC), for code that reads instants. */
  Clock clock();

  default Instant now() {
    return clock().instant();
  }

  /** Milliseconds since the epoch, as {@link Clock#millis()}. */
  default long millis() {
    return clock().millis();
  }

  /** Monotonic nanoseconds for measuring intervals; unrelated to the epoch. */
  long nanos();

  /**
   * Blocks the calling thread for {@code d} of this time.
   *
   * @throws InterruptedException when the thread is interrupted while it waits
   */
  void sleep(Duration d) throws InterruptedException;

  /**
   * Runs {@code task} once, {@code delay} from now, on this time's timer thread. The task must be
   * short and must not block (it holds up every other timer): hand real work to an executor, as
   * {@link Scheduler} does. A task that throws is logged and does not stop the timer thread.
   */
  Scheduled schedule(Duration delay, Runnable task);

  /**
   * A new single thread (a daemon platform thread named {@code name}) that runs tasks in order and
   * whose delayed tasks wait on this time. Close it when its owner stops.
   */
  default Scheduler scheduler(String name) {
    return new ThreadScheduler(this, name);
  }
}
