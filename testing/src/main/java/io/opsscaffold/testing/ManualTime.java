package io.opsscaffold.testing;

import io.opsscaffold.time.Scheduled;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.PriorityQueue;
import java.util.concurrent.CountDownLatch;

/**
 * A {@link Time} that moves only when a test calls {@link #advance}: timers due by then run, in
 * deadline order, on the calling thread (a {@code Scheduler}'s timers only hand their task to its
 * thread, so wait for the consequence with {@link Await}); sleepers wake. As Kafka's {@code
 * MockTime}, but for code with several threads: {@link #awaitTimers} waits until the code under
 * test has armed its timers, so a test never advances past a timer that was not set yet.
 * Thread-safe.
 */
public final class ManualTime implements Time {
  private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

  private final Object lock = new Object();
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private long nanos; // since START
  private long sequence;

  private final Clock clock =
      new Clock() {
        @Override
        public Instant instant() {
          return START.plusNanos(nanos());
        }

        @Override
        public ZoneId getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
          return this;
        }
      };

  @Override
  public Clock clock() {
    return clock;
  }

  @Override
  public long nanos() {
    synchronized (lock) {
      return nanos;
    }
  }

  @Override
  public void sleep(Duration d) throws InterruptedException {
    CountDownLatch woken = new CountDownLatch(1);
    Scheduled s = schedule(d, woken::countDown);
    try {
      woken.await();
    } finally {
      s.cancel();
    }
  }

  @Override
  public Scheduled schedule(Duration delay, Runnable task) {
    synchronized (lock) {
      Timer t = new Timer(nanos + Math.max(0, delay.toNanos()), sequence++, task);
      timers.add(t);
      lock.notifyAll();
      return t;
    }
  }

  /** Moves time forward by {@code d}, running every timer that falls due, each at its own time. */
  public void advance(Duration d) {
    long target;
    synchronized (lock) {
      target = nanos + d.toNanos();
    }
    while (true) {
      Timer next;
      synchronized (lock) {
        next = timers.peek();
        if (next == null || next.due > target) {
          nanos = target;
          return;
        }
        timers.poll();
        nanos = Math.max(nanos, next.due);
      }
      if (next.cancel()) { // a timer that ran is no longer cancellable
        next.task.run();
      }
    }
  }

  /** How many timers are armed (not cancelled, not yet due). */
  public int pendingTimers() {
    synchronized (lock) {
      return (int) timers.stream().filter(t -> !t.cancelled).count();
    }
  }

  /** How far off the nearest armed timer is, or null when none is. */
  public Duration nextTimerIn() {
    synchronized (lock) {
      return timers.stream().filter(t -> !t.cancelled).mapToLong(t -> t.due - nanos).min().stream()
          .mapToObj(Duration::ofNanos)
          .findFirst()
          .orElse(null);
    }
  }

  /**
   * Waits (up to 10 s of real time) until at least {@code count} timers are armed: the code under
   * test has reached the point where it waits on this time.
   */
  public void awaitTimers(int count) {
    Await.until(
        Duration.ofSeconds(10), count + " armed timer(s)", this::pendingTimers, n -> n >= count);
  }

  /**
   * Waits until a timer is armed, then advances to it: the next thing the code waits for happens.
   *
   * @return how far time moved
   */
  public Duration advanceToNextTimer() {
    awaitTimers(1);
    Duration in = nextTimerIn();
    advance(in);
    return in;
  }

  private static final class Timer implements Scheduled, Comparable<Timer> {
    final long due;
    final long seq;
    final Runnable task;
    volatile boolean cancelled;

    Timer(long due, long seq, Runnable task) {
      this.due = due;
      this.seq = seq;
      this.task = task;
    }

    @Override
    public boolean cancel() {
      boolean was = !cancelled;
      cancelled = true;
      return was;
    }

    @Override
    public int compareTo(Timer o) {
      return due != o.due ? Long.compare(due, o.due) : Long.compare(seq, o.seq);
    }
  }
}
