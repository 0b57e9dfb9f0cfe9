package io.opsscaffold.daemon.link;

import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.daemon.supervision.StateListener;
import io.opsscaffold.time.Scheduled;
import io.opsscaffold.time.Time;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Changes waiting to go up the link: the newest snapshot of each changed agent, never a queue of
 * every intermediate state, so a disconnected daemon's memory stays bounded by its agent count and
 * a burst of changes to one agent costs one delta.
 *
 * <p>Runners call {@link #changed} (never blocks beyond a short lock); the link loop calls {@link
 * #awaitAndDrain}. Waits and the times of changes are on the injected {@link Time}.
 */
public final class Outbox implements StateListener {
  /** One pending change; {@code removed} when the agent is no longer supervised. */
  public record Change(
      AgentSnapshot snapshot, Context cause, Instant observedAt, boolean removed) {}

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition nonEmpty = lock.newCondition();
  private final Map<String, Change> pending = new LinkedHashMap<>();
  private final Time time;

  /** A wake() not yet seen by awaitAndDrain: a wake between two waits is never lost. */
  private boolean woken;

  public Outbox(Time time) {
    this.time = time;
  }

  @Override
  public void changed(AgentSnapshot snapshot, Context cause) {
    lock.lock();
    try {
      Change previous = pending.get(snapshot.agentId());
      // Keep a traced cause over an untraced one: the operation's trace should reach the database.
      Context keep = cause == Context.root() && previous != null ? previous.cause() : cause;
      pending.put(snapshot.agentId(), new Change(snapshot, keep, time.now(), false));
      nonEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void removed(String agentId) {
    lock.lock();
    try {
      Change last = pending.get(agentId);
      AgentSnapshot ghost =
          last != null
              ? last.snapshot()
              : new AgentSnapshot(
                  agentId,
                  "",
                  io.opsscaffold.daemon.supervision.Lifecycle.STOPPED,
                  io.opsscaffold.daemon.health.Health.UNKNOWN,
                  0,
                  java.util.Optional.empty(),
                  java.util.Optional.empty(),
                  java.time.Duration.ZERO,
                  java.util.OptionalInt.empty(),
                  java.util.Optional.empty(),
                  0,
                  "removed",
                  java.util.List.of(),
                  "");
      pending.put(agentId, new Change(ghost, Context.root(), time.now(), true));
      nonEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits up to {@code maxWaitMs} for a change, then lingers {@code coalesceMs} so that changes
   * arriving together travel together, and takes everything pending.
   */
  public List<Change> awaitAndDrain(long maxWaitMs, long coalesceMs) throws InterruptedException {
    lock.lock();
    try {
      if (pending.isEmpty() && !woken) {
        Scheduled timeout = time.schedule(Duration.ofMillis(maxWaitMs), this::wake);
        try {
          nonEmpty.await();
        } finally {
          timeout.cancel();
        }
      }
      woken = false;
      if (pending.isEmpty()) {
        return List.of();
      }
    } finally {
      lock.unlock();
    }
    if (coalesceMs > 0) {
      time.sleep(Duration.ofMillis(coalesceMs));
    }
    return drain();
  }

  /** Takes everything pending without waiting. */
  public List<Change> drain() {
    lock.lock();
    try {
      List<Change> out = new ArrayList<>(pending.values());
      pending.clear();
      return out;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Wakes a waiting {@link #awaitAndDrain} (e.g. because the stream ended, or a resync was asked
   * for); when none is waiting, the next one returns at once.
   */
  public void wake() {
    lock.lock();
    try {
      woken = true;
      nonEmpty.signalAll();
    } finally {
      lock.unlock();
    }
  }
}
