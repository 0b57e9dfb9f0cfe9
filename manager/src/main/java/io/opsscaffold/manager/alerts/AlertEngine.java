package io.opsscaffold.manager.alerts;

import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.opsscaffold.api.fleet.v1.AlertEvent;
import io.opsscaffold.manager.fleet.Availability;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.streams.BoundedStream;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Opens, repeats and resolves alerts from the agents' derived availability. It scans the fleet
 * every {@code scanInterval}, and soon after each committed batch of state ({@link #kick}), so
 * that time-driven changes (a stale heartbeat, a node going offline) are caught as well as
 * reported ones. One thread owns the scan state; watchers and the webhook are fed from it without
 * ever blocking it: a watcher whose queue is full is dropped with RESOURCE_EXHAUSTED.
 */
public final class AlertEngine implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AlertEngine.class.getName());
  static final int WATCHER_QUEUE = 256;

  private final FleetRepository fleet;
  private final AlertRepository alerts;
  private final Clock clock;
  private final Optional<AlertWebhook> webhook;
  private final Duration scanInterval;
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
      r -> Thread.ofPlatform().name("alerts").daemon(true).unstarted(r));
  private final AtomicBoolean kicked = new AtomicBoolean();
  private final Set<BoundedStream<AlertEvent>> watchers = ConcurrentHashMap.newKeySet();
  // Owned by the alerts thread.
  private final Map<String, String> lastKind = new HashMap<>();
  private final Map<String, AlertRecord> openAlerts = new HashMap<>();

  public AlertEngine(FleetRepository fleet, AlertRepository alerts, Clock clock, Optional<AlertWebhook> webhook,
      Duration scanInterval) {
    this.fleet = fleet;
    this.alerts = alerts;
    this.clock = clock;
    this.webhook = webhook;
    this.scanInterval = scanInterval;
  }

  public void start() {
    thread.execute(() -> alerts.open().forEach(a -> openAlerts.put(key(a.nodeId(), a.agentId()), a)));
    thread.scheduleWithFixedDelay(this::scanSafely, 0, scanInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** State was committed: scan soon (coalesced with other kicks). Never blocks. */
  public void kick() {
    if (kicked.compareAndSet(false, true)) {
      thread.schedule(() -> {
        kicked.set(false);
        scanSafely();
      }, 50, TimeUnit.MILLISECONDS);
    }
  }

  private void scanSafely() {
    try {
      scan();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "alert scan failed", e);
    }
  }

  /** Agents per (area, availability name) as of the latest scan. */
  public Map<List<String>, Long> availabilityCounts() {
    return availabilityCounts;
  }

  /** Open alerts per kind as of the latest scan. */
  public Map<String, Long> openByKind() {
    return openByKind;
  }

  private volatile Map<List<String>, Long> availabilityCounts = Map.of();
  private volatile Map<String, Long> openByKind = Map.of();

  private void scan() {
    long now = clock.millis();
    Map<List<String>, Long> counts = new HashMap<>();
    Map<String, FleetRepository.AgentOnNode> current = new HashMap<>();
    for (var r : fleet.listFleetAgents(new FleetRepository.AgentFilter("", "", "", "", "", "", "", ""))) {
      current.put(key(r.node().nodeId(), r.agent().agentId()), r);
    }
    for (var e : current.entrySet()) {
      var r = e.getValue();
      Availability a = Availability.of(r.node(), r.agent(), now);
      counts.merge(List.of(r.node().area(), a.name()), 1L, Long::sum);
      String kind = a == Availability.ON ? "ON"
          : r.agent().lifecycle().equals("CRASH_LOOP") ? "CRASH_LOOP" : a.name();
      String reason = a == Availability.UNKNOWN && !r.node().online()
          ? "node " + r.node().nodeId() + " is offline" : r.agent().message();
      observe(e.getKey(), r.node().nodeId(), r.agent().agentId(), r.node().area(), kind, reason, now);
    }
    for (String gone : Set.copyOf(lastKind.keySet())) {
      if (!current.containsKey(gone)) {
        String[] parts = gone.split("\u0000", 2);
        AlertRecord open = openAlerts.get(gone);
        observe(gone, parts[0], parts[1], open == null ? "" : open.area(), "NOT_EXIST",
            "agent " + parts[1] + " is no longer configured on node " + parts[0], now);
        lastKind.remove(gone);
      }
    }
    availabilityCounts = Map.copyOf(counts);
    Map<String, Long> kinds = new HashMap<>();
    openAlerts.values().forEach(a -> kinds.merge(a.kind(), 1L, Long::sum));
    openByKind = Map.copyOf(kinds);
  }

  private void observe(String key, String nodeId, String agentId, String area, String kind, String reason, long now) {
    String previous = lastKind.put(key, kind);
    AlertRecord open = openAlerts.get(key);
    if (kind.equals("ON")) {
      if (open != null) {
        AlertRecord resolved = new AlertRecord(open.alertId(), nodeId, agentId, area, open.kind(), open.reason(),
            open.openedMs(), now, open.count(), now);
        openAlerts.remove(key);
        publish("RESOLVED", resolved);
      }
      return;
    }
    if (open == null) {
      AlertRecord opened = new AlertRecord("alert-" + UUID.randomUUID(), nodeId, agentId, area, kind,
          truncate(reason), now, now, 1, 0);
      openAlerts.put(key, opened);
      publish("OPENED", opened);
    } else if (previous != null && !previous.equals(kind)) {
      AlertRecord repeated = new AlertRecord(open.alertId(), nodeId, agentId, area, kind, truncate(reason),
          open.openedMs(), now, open.count() + 1, 0);
      openAlerts.put(key, repeated);
      publish("REPEATED", repeated);
    }
  }

  private void publish(String change, AlertRecord alert) {
    alerts.save(alert);
    AlertEvent event = AlertEvent.newBuilder().setChange(change).setAlert(AlertProtos.alert(alert)).build();
    LOG.info(() -> "alert " + change.toLowerCase() + ": " + alert.kind() + " " + alert.nodeId() + "/" + alert.agentId()
        + " (" + alert.reason() + ")");
    for (BoundedStream<AlertEvent> w : watchers) {
      w.offer(event);
    }
    webhook.ifPresent(h -> {
      try {
        h.send(JsonFormat.printer().omittingInsignificantWhitespace().print(event));
      } catch (Exception e) {
        LOG.warning("could not encode an alert event: " + e);
      }
    });
  }

  /**
   * Streams the open alerts, a SYNCED marker, then every alert event to {@code out} until it goes
   * away or falls behind. The snapshot is taken on the alerts thread, so no change is missed or
   * sent twice between the snapshot and the live events.
   */
  public void watch(ServerCallStreamObserver<AlertEvent> out) {
    BoundedStream<AlertEvent> w = new BoundedStream<>(out, WATCHER_QUEUE, "alert events", watchers::remove);
    thread.execute(() -> {
      for (AlertRecord open : openAlerts.values()) {
        w.preload(AlertEvent.newBuilder().setChange("OPEN").setAlert(AlertProtos.alert(open)).build());
      }
      w.preload(AlertEvent.newBuilder().setChange("SYNCED").build());
      if (!w.closed()) {
        watchers.add(w);
      }
    });
  }

  private static String key(String nodeId, String agentId) {
    return nodeId + "\u0000" + agentId;
  }

  private static String truncate(String s) {
    return s.length() <= 1024 ? s : s.substring(0, 1024);
  }

  @Override
  public void close() {
    thread.shutdownNow();
    watchers.forEach(w -> w.close(Status.UNAVAILABLE.withDescription("the manager is shutting down")));
    webhook.ifPresent(AlertWebhook::close);
  }
}
