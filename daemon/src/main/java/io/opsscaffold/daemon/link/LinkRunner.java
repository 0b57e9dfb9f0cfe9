package io.opsscaffold.daemon.link;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.link.v1.AgentDelta;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Deltas;
import io.opsscaffold.api.link.v1.FullState;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.Ping;
import io.opsscaffold.api.status.v1.HostStats;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Owns the daemon's one stream to the manager: connects, says Hello, sends FullState, then Deltas
 * from the {@link Outbox}, HostStats and Pings while idle; hands Commands to {@link LinkCommands}.
 * When the stream ends it reconnects forever with jittered exponential backoff; supervision never
 * depends on the link, and each connect starts again from the full state, so nothing is lost.
 *
 * <p>Threads: one loop thread ({@code link}) owns the connection's life: it connects, sends,
 * decides when the stream is dead, waits out the backoff (on the injected {@link Time}) and
 * reconnects. gRPC calls the current connection's {@code onNext}/{@code onError}/{@code
 * onCompleted} on its transport thread; they only record what arrived (the welcome, when the
 * manager was last heard, a resync request, the end) or hand a command to the command session, and
 * never block. Sends from any thread go through one lock per connection and never wait for the
 * network (grpc-java buffers them).
 */
public final class LinkRunner implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(LinkRunner.class.getName());

  /** A welcomed stream that lasted this long resets the backoff. */
  static final long STABLE_MS = 10_000;

  /**
   * How long a new stream may wait for the manager's Welcome before it is dropped, when that is
   * longer than three ping intervals: a first connect (TLS handshake with the node's certificate, a
   * manager still warming up) can take more than a short interval, and dropping a stream the moment
   * before its Welcome arrives only starts the same wait again (seen in CI: 1.58 s, interval 500
   * ms).
   */
  static final long WELCOME_WAIT_MS = 10_000;

  private final LinkPolicy policy;
  private final Hello hello;
  private final ChannelSource channels;
  private final Supplier<List<AgentSnapshot>> fullState;
  private final Outbox outbox;
  private final LinkCommands commands;
  private final Supplier<Optional<HostStats>> hostStats;
  private final Clock clock;
  private final Time time;
  private final Backoff backoff;
  private final Thread loop;
  private volatile boolean running = true;
  private volatile Connection current;

  /**
   * @param channels where the manager is: asked for the channel before each connect; the caller
   *     owns it (and closes it after this)
   * @param fullState every agent's current state, sent on each connect and resync
   * @param hostStats the host's latest measurements, sent every stats interval
   * @param time reconnect delays, keepalive and coalescing wait on it
   * @param random the reconnect jitter's source, uniform in [0, 1)
   */
  public LinkRunner(
      LinkPolicy policy,
      Hello hello,
      ChannelSource channels,
      Supplier<List<AgentSnapshot>> fullState,
      Outbox outbox,
      LinkCommands commands,
      Supplier<Optional<HostStats>> hostStats,
      Time time,
      DoubleSupplier random) {
    this.policy = policy;
    this.hello = hello;
    this.channels = channels;
    this.fullState = fullState;
    this.outbox = outbox;
    this.commands = commands;
    this.hostStats = hostStats;
    this.time = time;
    this.clock = time.clock();
    this.backoff = new Backoff(policy.reconnectInitial(), policy.reconnectMax(), random);
    this.loop = Thread.ofPlatform().name("link").daemon(true).unstarted(this::run);
  }

  public void start() {
    loop.start();
  }

  /** Whether a stream is up and the manager has welcomed it. */
  public boolean connected() {
    Connection c = current;
    return c != null && c.welcomed && !c.ended.isDone();
  }

  private void run() {
    int failures = 0;
    while (running) {
      Connection c = new Connection();
      current = c;
      long began = clock.millis();
      String why;
      try {
        why = c.serve();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        why = e.toString();
        LOG.log(Level.WARNING, "link failed", e);
      }
      if (!running) {
        return;
      }
      String from = channels.target();
      channels.failed(); // with several managers, the next attempt goes to the next one
      failures = c.welcomed && clock.millis() - began > STABLE_MS ? 1 : failures + 1;
      Duration delay = backoff.delay(failures);
      String reason = why;
      int attempt = failures;
      LOG.warning(
          () ->
              "link to manager "
                  + from
                  + " is down ("
                  + reason
                  + "); retry "
                  + attempt
                  + (from.equals(channels.target()) ? "" : " with " + channels.target())
                  + " in "
                  + delay.toMillis()
                  + " ms");
      try {
        time.sleep(delay);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** One stream, from connect to its end. */
  private final class Connection implements StreamObserver<ManagerMessage> {
    private final CompletableFuture<Status> ended = new CompletableFuture<>();
    private final String target = channels.target(); // read on the link loop, which owns it
    private final AtomicBoolean resync = new AtomicBoolean();
    private final Object sendLock = new Object();
    private final LinkCommands.Session session = commands.open(this::send);
    private StreamObserver<DaemonMessage> requests;
    private long seq;
    private volatile boolean welcomed;
    private volatile long pingIntervalMs = policy.pingInterval().toMillis();
    private volatile long lastReceivedMs = clock.millis();
    private volatile long lastSentMs;
    private long lastStatsMs;

    /** Runs the stream until it ends; returns why it ended. */
    String serve() throws InterruptedException {
      try {
        return serveUntilEnd();
      } finally {
        session.close();
      }
    }

    private String serveUntilEnd() throws InterruptedException {
      io.grpc.Channel channel;
      try {
        channel = channels.channel();
      } catch (java.io.IOException e) {
        return "cannot reach the manager: " + e.getMessage();
      } catch (SecurityException e) {
        LOG.severe(e.getMessage());
        return "the manager is not trusted: " + e.getMessage();
      }
      synchronized (sendLock) {
        requests = DaemonLinkServiceGrpc.newStub(channel).connect(this);
      }
      send(DaemonMessage.newBuilder().setHello(hello));
      outbox.drain(); // the full state below covers everything pending
      sendFullState();
      while (running && !ended.isDone()) {
        long now = clock.millis();
        long untilPing =
            Math.max(
                1,
                Math.min(
                    pingIntervalMs - (now - lastSentMs),
                    policy.statsInterval().toMillis() - (now - lastStatsMs)));
        List<Outbox.Change> changes = outbox.awaitAndDrain(untilPing, policy.coalesce().toMillis());
        if (ended.isDone()) {
          break;
        }
        if (resync.getAndSet(false)) {
          outbox.drain();
          sendFullState();
        } else if (!changes.isEmpty()) {
          sendDeltas(changes);
        }
        now = clock.millis();
        if (now - lastStatsMs >= policy.statsInterval().toMillis()) {
          lastStatsMs = now;
          hostStats.get().ifPresent(h -> send(DaemonMessage.newBuilder().setHostStats(h)));
        }
        if (welcomed) {
          channels
              .renewalRequest()
              .ifPresent(
                  csr ->
                      send(
                          DaemonMessage.newBuilder()
                              .setRenewCertificate(
                                  io.opsscaffold.api.link.v1.RenewCertificate.newBuilder()
                                      .setCsrPem(csr))));
        }
        if (now - lastSentMs >= pingIntervalMs) {
          send(
              DaemonMessage.newBuilder()
                  .setPing(Ping.newBuilder().setSentAt(Timestamps.fromMillis(now))));
        }
        long silenceLimit =
            welcomed ? 3 * pingIntervalMs : Math.max(3 * pingIntervalMs, WELCOME_WAIT_MS);
        if (now - lastReceivedMs > silenceLimit) {
          String why = "nothing from the manager for " + (now - lastReceivedMs) + " ms";
          synchronized (sendLock) {
            requests.onError(Status.UNAVAILABLE.withDescription(why).asRuntimeException());
          }
          return why;
        }
      }
      if (!ended.isDone()) {
        synchronized (sendLock) {
          requests.onCompleted();
        }
        return "daemon shutting down";
      }
      Status status = ended.getNow(Status.UNKNOWN);
      return status.getCode()
          + (status.getDescription() == null ? "" : ": " + status.getDescription());
    }

    private void sendFullState() {
      FullState.Builder full = FullState.newBuilder();
      for (AgentSnapshot s : fullState.get()) {
        full.addAgents(LinkProtos.state(s));
      }
      send(DaemonMessage.newBuilder().setFullState(full));
    }

    private void sendDeltas(List<Outbox.Change> changes) {
      Deltas.Builder deltas = Deltas.newBuilder();
      for (Outbox.Change c : changes) {
        deltas.addDeltas(
            AgentDelta.newBuilder()
                .setState(LinkProtos.state(c.snapshot()))
                .setRemoved(c.removed())
                .setObservedAt(Timestamps.fromMillis(c.observedAt().toEpochMilli()))
                .setTraceContext(LinkProtos.traceContext(c.cause())));
      }
      send(DaemonMessage.newBuilder().setDeltas(deltas));
    }

    /** Sends {@code message} with the next sequence number; false once the stream has ended. */
    boolean send(DaemonMessage.Builder message) {
      synchronized (sendLock) {
        if (ended.isDone() || requests == null) {
          return false;
        }
        try {
          requests.onNext(message.setSeq(++seq).build());
          lastSentMs = clock.millis();
          return true;
        } catch (RuntimeException e) {
          ended.complete(Status.fromThrowable(e));
          return false;
        }
      }
    }

    @Override
    public void onNext(ManagerMessage msg) {
      lastReceivedMs = clock.millis();
      switch (msg.getBodyCase()) {
        case WELCOME -> {
          welcomed = true;
          if (msg.getWelcome().hasPingInterval()) {
            pingIntervalMs = Math.max(100, Durations.toMillis(msg.getWelcome().getPingInterval()));
          }
          LOG.info(
              () ->
                  "connected to manager "
                      + target
                      + " (session "
                      + msg.getWelcome().getSessionId()
                      + ")");
        }
        case COMMAND -> session.handle(msg.getCommand(), LinkProtos.context(msg.getTraceContext()));
        case RESYNC -> {
          LOG.info(() -> "manager asked for full state: " + msg.getResync().getReason());
          resync.set(true);
          outbox.wake();
        }
        case CERTIFICATE ->
            channels.renewed(
                msg.getCertificate().getCertificatePem(), msg.getCertificate().getError());
        case ACK, PONG, PROBE, BODY_NOT_SET -> {}
      }
    }

    @Override
    public void onError(Throwable t) {
      ended.complete(Status.fromThrowable(t));
      outbox.wake();
    }

    @Override
    public void onCompleted() {
      ended.complete(Status.UNAVAILABLE.withDescription("the manager closed the stream"));
      outbox.wake();
    }
  }

  /** Ends the stream (the manager sees a clean end) and the loop; waits up to 2 s for the loop. */
  @Override
  public void close() {
    running = false;
    outbox.wake();
    loop.interrupt();
    try {
      loop.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
