package io.opsscaffold.systemtests;

import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Waits for a condition with a deadline, polling; never a fixed sleep. */
final class Await {
  private Await() {}

  /** Polls {@code probe} every 20 ms until {@code done} accepts its value; fails after {@code within}. */
  static <T> T until(Duration within, String what, Supplier<T> probe, Predicate<T> done) {
    long deadline = System.nanoTime() + within.toNanos();
    T last = null;
    RuntimeException lastError = null;
    while (System.nanoTime() < deadline) {
      try {
        last = probe.get();
        if (done.test(last)) {
          return last;
        }
        lastError = null;
      } catch (RuntimeException e) {
        lastError = e;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what);
      }
    }
    AssertionError failure = new AssertionError(
        "timed out after " + within.toMillis() + " ms waiting for " + what + "; last value: " + last);
    if (lastError != null) {
      failure.initCause(lastError);
    }
    throw failure;
  }
}
