package io.opsscaffold.time;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@link Scheduler} on one platform thread: delayed tasks wait on the {@link Time}'s timer, then
 * are handed to the thread like any other task, so the thread's order is the only order.
 */
final class ThreadScheduler implements Scheduler {
  private static final Logger LOG = Logger.getLogger(ThreadScheduler.class.getName());

  private final Time time;
  private final String name;
  private final ExecutorService thread;
  private volatile Thread owner;

  ThreadScheduler(Time time, String name) {
    this.time = time;
    this.name = name;
    this.thread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = Thread.ofPlatform().name(name).daemon(true).unstarted(r);
              owner = t;
              return t;
            });
  }

  @Override
  public void execute(Runnable task) {
    try {
      thread.execute(
          () -> {
            try {
              task.run();
            } catch (RuntimeException | Error e) {
              LOG.log(Level.WARNING, "a task on " + name + " failed", e);
            }
          });
    } catch (RejectedExecutionException e) {
      // closed: the owner is gone, and so is the work
    }
  }

  @Override
  public <T> CompletableFuture<T> submit(Callable<T> task) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      thread.execute(
          () -> {
            try {
              result.complete(task.call());
            } catch (Exception | Error e) {
              result.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(new IllegalStateException(name + " is closed"));
    }
    return result;
  }

  @Override
  public Scheduled schedule(Duration delay, Runnable task) {
    Once once = new Once(task);
    once.timer = time.schedule(delay, () -> execute(once));
    return once;
  }

  @Override
  public Scheduled scheduleWithFixedDelay(Duration initialDelay, Duration delay, Runnable task) {
    Repeating r = new Repeating(task, delay);
    r.arm(initialDelay);
    return r;
  }

  @Override
  public boolean inThread() {
    return Thread.currentThread() == owner;
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }

  /** A one-shot task that cancel() stops even after its timer has fired but before it ran. */
  private static final class Once implements Runnable, Scheduled {
    private final Runnable task;
    private volatile boolean cancelled;
    private volatile Scheduled timer;

    Once(Runnable task) {
      this.task = task;
    }

    @Override
    public void run() {
      if (!cancelled) {
        cancelled = true; // ran: a later cancel() reports false
        task.run();
      }
    }

    @Override
    public boolean cancel() {
      boolean wasWaiting = !cancelled;
      cancelled = true;
      Scheduled t = timer;
      if (t != null) {
        t.cancel();
      }
      return wasWaiting;
    }
  }

  private final class Repeating implements Scheduled {
    private final Runnable task;
    private final Duration delay;
    private volatile boolean cancelled;
    private volatile Scheduled timer;

    Repeating(Runnable task, Duration delay) {
      this.task = task;
      this.delay = delay;
    }

    void arm(Duration after) {
      timer = time.schedule(after, () -> execute(this::runOnce));
    }

    private void runOnce() {
      if (cancelled) {
        return;
      }
      try {
        task.run();
      } finally {
        if (!cancelled) {
          arm(delay);
        }
      }
    }

    @Override
    public boolean cancel() {
      boolean wasWaiting = !cancelled;
      cancelled = true;
      Scheduled t = timer;
      if (t != null) {
        t.cancel();
      }
      return wasWaiting;
    }
  }
}
