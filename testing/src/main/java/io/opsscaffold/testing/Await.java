package io.opsscaffold.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waiting in tests without fixed sleeps: {@link #until} polls for a condition with a deadline;
 * {@link #holds} checks that a condition stays true for a whole window (for "nothing may happen"
 * assertions) and fails at the first moment it does not.
 */
public final class Await {
  private static final long POLL_MS = 20;

  private Await() {}

  /**
   * Polls {@code probe} until {@code done} accepts its value and returns that value. A probe that
   * throws a RuntimeException counts as "not yet". Fails after {@code within} with the last value.
   */
  public static <T> T until(Duration within, String what, Supplier<T> probe, Predicate<T> done) {
    long deadline = System.nanoTime() + within.toNanos();
    T last = null;
    RuntimeException lastError = null;
    while (true) {
      try {
        last = probe.get();
        if (done.test(last)) {
          return last;
        }
        lastError = null;
      } catch (RuntimeException e) {
        lastError = e;
      }
      if (System.nanoTime() >= deadline) {
        AssertionError failure =
            new AssertionError(
                "timed out after "
                    + within.toMillis()
                    + " ms waiting for "
                    + what
                    + "; last value: "
                    + last);
        if (lastError != null) {
          failure.initCause(lastError);
        }
        throw failure;
      }
      pause();
    }
  }

  /**
   * Checks {@code condition} throughout {@code window}; fails naming {@code what} if it ever is
   * false.
   */
  public static void holds(Duration window, String what, BooleanSupplier condition) {
    long end = System.nanoTime() + window.toNanos();
    do {
      if (!condition.getAsBoolean()) {
        throw new AssertionError(
            "expected " + what + " to hold for " + window.toMillis() + " ms, but it did not");
      }
      pause();
    } while (System.nanoTime() < end);
  }

  private static void pause() {
    try {
      Thread.sleep(POLL_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting");
    }
  }
}
