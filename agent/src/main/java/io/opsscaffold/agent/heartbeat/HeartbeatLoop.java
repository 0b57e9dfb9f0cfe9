package io.opsscaffold.agent.heartbeat;

import io.opsscaffold.agent.faults.FaultInjector;
import io.opsscaffold.agent.resources.SelfMonitor;
import io.opsscaffold.observability.JsonText;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Sends a heartbeat every interval and counts processed events between them. One scheduler thread
 * does both, so sends never overlap: a slow daemon delays the next tick instead of piling requests
 * up, and a failure is simply counted and retried on the next tick.
 */
public final class HeartbeatLoop implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(HeartbeatLoop.class.getName());

  private final String agentId;
  private final AgentCounters counters;
  private final SelfMonitor monitor;
  private final FaultInjector faults;
  private final Consumer<AgentCounters> afterHeartbeat;
  private final ScheduledExecutorService thread =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("heartbeat").daemon(true).unstarted(r));
  private volatile HeartbeatTransport transport;
  private ScheduledFuture<?> ticks;
  private ScheduledFuture<?> work;

  public HeartbeatLoop(
      String agentId,
      HeartbeatTransport transport,
      AgentCounters counters,
      SelfMonitor monitor,
      FaultInjector faults,
      Consumer<AgentCounters> afterHeartbeat) {
    this.agentId = agentId;
    this.transport = transport;
    this.counters = counters;
    this.monitor = monitor;
    this.faults = faults;
    this.afterHeartbeat = afterHeartbeat;
  }

  /** Starts (or restarts, with a new interval) the ticks; the first heartbeat goes at once. */
  public synchronized void start(Duration interval) {
    if (ticks != null) {
      ticks.cancel(false);
    }
    ticks = thread.scheduleAtFixedRate(this::tick, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    if (work == null) {
      work =
          thread.scheduleAtFixedRate(
              () -> {
                if (!faults.current().stopProgress()) {
                  counters.eventProcessed();
                }
              },
              100,
              100,
              TimeUnit.MILLISECONDS);
    }
  }

  /** Heartbeats go through {@code next} from now on; the old transport is closed. */
  public void switchTransport(HeartbeatTransport next) {
    HeartbeatTransport old = transport;
    transport = next;
    thread.execute(old::close);
  }

  public String destination() {
    return transport.describe();
  }

  private void tick() {
    if (faults.current().stopHeartbeat()) {
      return;
    }
    send("running", Duration.ofSeconds(5));
  }

  /** Sends one heartbeat with {@code status}; true when the daemon accepted it. */
  public boolean send(String status, Duration timeout) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    SelfMonitor.Usage usage = monitor.sample();
    String json =
        "{\"agent_id\":"
            + JsonText.quote(agentId)
            + ",\"pid\":"
            + ProcessHandle.current().pid()
            + ",\"status\":\""
            + status
            + "\""
            + ",\"cpu\":"
            + usage.cpuPercent()
            + ",\"memory\":"
            + usage.rssBytes()
            + ",\"timestamp\":\""
            + now
            + "\""
            + ",\"heartbeat_count\":"
            + counters.heartbeats()
            + ",\"events_processed\":"
            + counters.events()
            + "}";
    try {
      transport.send(json, timeout);
      counters.heartbeatSent(now);
      afterHeartbeat.accept(counters);
      return true;
    } catch (IOException e) {
      counters.heartbeatFailed();
      LOG.warning(
          () ->
              "heartbeat to "
                  + transport.describe()
                  + " failed ("
                  + counters.consecutiveFailures()
                  + " in a row): "
                  + e.getMessage());
      return false;
    }
  }

  /** Stops ticking; waits up to {@code wait} for a tick in progress. */
  public void stop(Duration wait) {
    synchronized (this) {
      if (ticks != null) {
        ticks.cancel(false);
      }
      if (work != null) {
        work.cancel(false);
      }
    }
    thread.shutdown();
    try {
      thread.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
    transport.close();
  }
}
