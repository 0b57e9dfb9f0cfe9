package io.opsscaffold.time;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One thread that owns some state: tasks run on it one at a time, in the order they were handed
 * over, and delayed tasks wait on a {@link Time} before they are handed over. What {@code
 * Executors.newSingleThreadScheduledExecutor} is, with its delays on an injected time.
 *
 * <p>Every method may be called from any thread and never blocks. Tasks handed over after {@link
 * #close} are dropped.
 */
public interface Scheduler extends Executor, AutoCloseable {
  /**
   * Runs {@code task} on this scheduler's thread. A task that throws is logged; the thread goes on.
   */
  @Override
  void execute(Runnable task);

  /** Runs {@code task} on this scheduler's thread; the future completes with its outcome. */
  <T> CompletableFuture<T> submit(Callable<T> task);

  /** Runs {@code task} on this scheduler's thread once {@code delay} has passed. */
  Scheduled schedule(Duration delay, Runnable task);

  /**
   * Runs {@code task} after {@code initialDelay}, then again {@code delay} after each run ends,
   * until cancelled or closed. A run that throws is logged and the next one still comes.
   */
  Scheduled scheduleWithFixedDelay(Duration initialDelay, Duration delay, Runnable task);

  /** Whether the calling thread is this scheduler's own thread. */
  boolean inThread();

  /** Stops the thread: interrupts a running task and drops waiting ones. */
  @Override
  void close();
}
