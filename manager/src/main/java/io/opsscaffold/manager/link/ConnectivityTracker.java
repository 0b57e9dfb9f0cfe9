package io.opsscaffold.manager.link;

import io.grpc.Status;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Decides when nodes go OFFLINE and drops silent streams.
 *
 * <p>A node whose stream ended stays ONLINE for the grace period, so a quick reconnect (a manager
 * restart, a network blip) shows no flap; then, if no new stream came, it becomes OFFLINE. A stream
 * that sends nothing for three ping intervals is closed, because a killed daemon's TCP connection
 * is not always noticed by the server. Timers run on one scheduler thread.
 *
 * <p>Only the latest end of a node's stream counts: when a node reconnects and its new stream ends
 * too, the grace period starts again from that end, not from the earlier one.
 *
 * <p>With several managers in the area ({@link #judgedByLeader}), a stream ending here starts no
 * timer: the area's leader hears of every stream's end, on any manager or with a manager that died,
 * and calls {@link #judge}; an OFFLINE is written only while no manager has recorded a newer
 * session for the node.
 */
public final class ConnectivityTracker implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ConnectivityTracker.class.getName());

  private final SessionRegistry registry;
  private final StateWriter writer;
  private final Clock clock;
  private final Duration grace;
  private final Duration pingInterval;

  /** The pending grace period of each node, by a token unique to the stream end that started it. */
  private final Map<String, Long> pendingGrace = new ConcurrentHashMap<>();

  private final AtomicLong tokens = new AtomicLong();
  private final Scheduler timer;

  /**
   * How often each stream is probed by a write: a killed daemon's connection is closed by its
   * kernel, which the server's reads do not always report, but the next write fails.
   */
  static final Duration PROBE_EVERY = Duration.ofSeconds(1);

  /**
   * @param time the grace periods and the silence check run on it
   */
  public ConnectivityTracker(
      SessionRegistry registry,
      StateWriter writer,
      Time time,
      Duration grace,
      Duration pingInterval) {
    this.registry = registry;
    this.writer = writer;
    this.clock = time.clock();
    this.timer = time.scheduler("connectivity");
    this.grace = grace;
    this.pingInterval = pingInterval;
  }

  private volatile List<String> unconfirmed = List.of();
  private volatile boolean judgesLocally = true;
  private volatile java.util.function.Predicate<String> heldElsewhere = nodeId -> false;

  /**
   * The area's leader judges when nodes go OFFLINE ({@link #judge}), not each manager for its own
   * streams. Call before {@link #start}.
   *
   * @param heldElsewhere whether another manager holds the node's stream now (never blocks)
   */
  public void judgedByLeader(java.util.function.Predicate<String> heldElsewhere) {
    this.heldElsewhere = heldElsewhere;
    judgesLocally = false;
  }

  /**
   * Marks every node the database still calls ONLINE (from before a manager restart) UNCONFIRMED;
   * call it before the server listens. Their grace periods start at {@link #listening}: a daemon
   * cannot reconnect before the port is open, however long the start took.
   */
  public void start(FleetRepository repository) {
    start(repository, nodeId -> false);
  }

  /**
   * As {@link #start(FleetRepository)}, leaving alone the nodes whose stream another of the area's
   * managers holds now.
   */
  public void start(
      FleetRepository repository, java.util.function.Predicate<String> heldElsewhere) {
    List<String> earlier =
        repository.onlineNodeIds().stream().filter(n -> !heldElsewhere.test(n)).toList();
    if (!earlier.isEmpty()) {
      // Called before the server listens and before the alert engine's first read: no daemon of
      // this run is connected yet, and nothing reads these nodes as ONLINE once this returns.
      repository.apply(List.of(new FleetWrite.NodesUnconfirmed(earlier)));
      LOG.info(
          () ->
              earlier.size()
                  + " node(s) connected before this start are UNCONFIRMED until their daemons"
                  + " resync or "
                  + grace.toSeconds()
                  + " s pass");
    }
    unconfirmed = List.copyOf(earlier);
  }

  /**
   * The server listens: gives each node left UNCONFIRMED by {@link #start} one grace period to
   * reconnect, and starts the silence check and the probes.
   */
  public void listening() {
    for (String nodeId : judgesLocally ? unconfirmed : List.<String>of()) {
      if (!registry.connected(nodeId)) {
        sessionEnded(nodeId);
      }
    }
    unconfirmed = List.of();
    Duration every = Duration.ofMillis(Math.max(100, pingInterval.toMillis()));
    timer.scheduleWithFixedDelay(every, every, this::evictSilent);
    timer.scheduleWithFixedDelay(
        PROBE_EVERY, PROBE_EVERY, () -> registry.all().forEach(LinkSession::probe));
  }

  /** The node's stream ended: OFFLINE after the grace period unless it reconnects. */
  void sessionEnded(String nodeId) {
    if (judgesLocally) {
      graceFor(nodeId, "");
    }
  }

  /**
   * The leader's judgment: session {@code sessionId} of the node ended, on any manager or with the
   * manager that held it. After the grace period, if no manager holds the node's stream then, the
   * session's end is recorded and the node made OFFLINE (the database takes the OFFLINE only while
   * no newer session is recorded). Never blocks.
   */
  public void judge(String nodeId, String sessionId) {
    graceFor(nodeId, sessionId);
  }

  /** This manager no longer leads: the grace periods it was running are left to the new leader. */
  public void stopJudging() {
    pendingGrace.clear();
  }

  private void graceFor(String nodeId, String endedSession) {
    long token = tokens.incrementAndGet();
    pendingGrace.put(nodeId, token);
    timer.schedule(
        grace,
        () -> {
          if (pendingGrace.remove(nodeId, token)
              && !registry.connected(nodeId)
              && !heldElsewhere.test(nodeId)) {
            if (!endedSession.isEmpty()) {
              // Its manager could not say so (it died): only that session's mark is cleared.
              writer.submit(new FleetWrite.NodeDisconnected(nodeId, endedSession, clock.millis()));
            }
            writer.submit(new FleetWrite.NodeOffline(nodeId));
            LOG.info(
                () -> "node " + nodeId + " is OFFLINE (no stream for " + grace.toSeconds() + " s)");
          }
        });
  }

  private void evictSilent() {
    long now = clock.millis();
    long limit = 3 * pingInterval.toMillis();
    for (LinkSession s : registry.all()) {
      long silent = now - s.lastReceivedMs();
      if (silent > limit) {
        LOG.warning(
            () -> "node " + s.nodeId() + " sent nothing for " + silent + " ms; closing its stream");
        s.close(
            Status.UNAVAILABLE.withDescription(
                "no message from the daemon for "
                    + silent
                    + " ms (ping interval "
                    + pingInterval.toMillis()
                    + " ms)"));
      }
    }
  }

  @Override
  public void close() {
    timer.close();
  }
}
