package io.opsscaffold.agent.heartbeat;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the agent has done so far: heartbeats sent and failed, events processed, when. Written by
 * the heartbeat loop and the work loop, read by the HTTP API and the state file; atomics make every
 * read consistent per field without a lock.
 */
public final class AgentCounters {
  private final Instant started;
  private final AtomicLong heartbeats = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong consecutiveFailures = new AtomicLong();
  private final AtomicLong events = new AtomicLong();
  private final AtomicReference<Instant> lastHeartbeat = new AtomicReference<>();

  /** Counters continuing from a previous run (see the state file). */
  public AgentCounters(
      Instant started, long heartbeats, long failures, long events, Instant lastHeartbeat) {
    this.started = started;
    this.heartbeats.set(heartbeats);
    this.failures.set(failures);
    this.events.set(events);
    this.lastHeartbeat.set(lastHeartbeat);
  }

  public void heartbeatSent(Instant at) {
    heartbeats.incrementAndGet();
    consecutiveFailures.set(0);
    lastHeartbeat.set(at);
  }

  public void heartbeatFailed() {
    failures.incrementAndGet();
    consecutiveFailures.incrementAndGet();
  }

  public void eventProcessed() {
    events.incrementAndGet();
  }

  public Instant started() {
    return started;
  }

  public long heartbeats() {
    return heartbeats.get();
  }

  public long failures() {
    return failures.get();
  }

  public long consecutiveFailures() {
    return consecutiveFailures.get();
  }

  public long events() {
    return events.get();
  }

  /** Null until the first heartbeat was accepted. */
  public Instant lastHeartbeat() {
    return lastHeartbeat.get();
  }
}
