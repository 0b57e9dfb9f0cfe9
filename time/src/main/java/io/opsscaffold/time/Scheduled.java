package io.opsscaffold.time;

/** A task waiting for its time; see {@link Time#schedule} and {@link Scheduler}. */
public interface Scheduled {
  /**
   * Cancels the task if it has not started; a no-op afterwards. Returns whether it was still
   * waiting.
   */
  boolean cancel();
}
