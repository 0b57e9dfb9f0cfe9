package io.opsscaffold.time;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/** The real time: the system clock, {@link Thread#sleep}, and one shared daemon timer thread. */
final class SystemTime implements Time {
  static final SystemTime INSTANCE = new SystemTime();
  private static final Logger LOG = Logger.getLogger(SystemTime.class.getName());

  private final Clock clock = Clock.systemUTC();
  private final ScheduledThreadPoolExecutor timer;

  private SystemTime() {
    timer =
        new ScheduledThreadPoolExecutor(
            1, r -> Thread.ofPlatform().name("time").daemon(true).unstarted(r));
    timer.setRemoveOnCancelPolicy(
        true); // cancelled timers (most stop timeouts) free their slot at once
  }

  @Override
  public Clock clock() {
    return clock;
  }

  @Override
  public long nanos() {
    return System.nanoTime();
  }

  @Override
  public void sleep(Duration d) throws InterruptedException {
    if (d.isPositive()) {
      Thread.sleep(d);
    }
  }

  @Override
  public Scheduled schedule(Duration delay, Runnable task) {
    ScheduledFuture<?> f =
        timer.schedule(
            () -> {
              try {
                task.run();
              } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "a timer task failed", e);
              }
            },
            Math.max(0, delay.toNanos()),
            TimeUnit.NANOSECONDS);
    return () -> f.cancel(false);
  }
}
