package io.opsscaffold.daemon;

import io.grpc.BindableService;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.grpc.GrpcReflectionFeature;
import io.helidon.webserver.grpc.GrpcRouting;
import io.helidon.webserver.http.HttpRouting;
import io.opsscaffold.api.daemon.v1.DaemonProto;
import io.opsscaffold.api.daemon.v1.ReloadConfigResponse;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.daemon.api.DaemonGrpcService;
import io.opsscaffold.daemon.api.HostProtos;
import io.opsscaffold.daemon.config.ConfigPusher;
import io.opsscaffold.daemon.heartbeat.HeartbeatHttpService;
import io.opsscaffold.daemon.heartbeat.HeartbeatIntake;
import io.opsscaffold.daemon.heartbeat.UnixSocketHeartbeatServer;
import io.opsscaffold.daemon.link.ChannelSource;
import io.opsscaffold.daemon.link.LinkCommands;
import io.opsscaffold.daemon.link.LinkRunner;
import io.opsscaffold.daemon.link.ManagerChannels;
import io.opsscaffold.daemon.link.Outbox;
import io.opsscaffold.daemon.logs.AgentLogs;
import io.opsscaffold.daemon.monitor.HealthMonitor;
import io.opsscaffold.daemon.monitor.ResourceMonitor;
import io.opsscaffold.daemon.queries.LocalQueries;
import io.opsscaffold.daemon.store.AgentStateStore;
import io.opsscaffold.daemon.supervision.OsProcessLauncher;
import io.opsscaffold.daemon.supervision.ProcessLauncher;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.observability.GrpcTracing;
import io.opsscaffold.observability.HttpTracingFilter;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.settings.SettingsException;
import io.opsscaffold.time.Time;
import io.opsscaffold.transcoding.HttpJsonTranscoder;
import io.opsscaffold.transcoding.SharedMappers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The running daemon, built from its settings: supervision, health checks, heartbeat intake (HTTP
 * and Unix socket), the local API, and the link to the manager. {@link #start} wires and starts it;
 * {@link #close} stops it in reverse order. The parts that touch the outside world come in through
 * {@link Wiring}, so a test builds the whole daemon with a manual time, fake processes and an
 * in-process manager.
 */
public final class DaemonApp implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(DaemonApp.class.getName());

  /** The daemon's version, reported in Hello. */
  public static final String VERSION = "0.1.0";

  /**
   * What the daemon is given from outside.
   *
   * @param time every timer of the daemon waits on it
   * @param random the jitter of restart and reconnect delays, uniform in [0, 1)
   * @param launchers makes the process launcher from the agents' log files
   * @param channels makes the source of the channel to the manager from the settings
   */
  public record Wiring(
      Time time,
      DoubleSupplier random,
      Function<AgentLogs, ProcessLauncher> launchers,
      Function<DaemonSettings, ChannelSource> channels) {
    /** Real time, real processes, the manager at {@code manager.address}. */
    public static Wiring production() {
      return new Wiring(
          Time.system(), Math::random, OsProcessLauncher::new, ManagerChannels::forDaemon);
    }
  }

  private final DaemonSettings settings;
  private final Supplier<DaemonSettings> reread;
  private final Supervisor supervisor;
  private final HealthMonitor health;
  private final WebServer server;
  private final Optional<UnixSocketHeartbeatServer> socket;
  private final Optional<io.opsscaffold.daemon.api.LocalApiSocket> apiSocket;
  private final LinkRunner link;
  private final ChannelSource channel;

  private DaemonApp(
      DaemonSettings settings,
      Supplier<DaemonSettings> reread,
      Supervisor supervisor,
      HealthMonitor health,
      WebServer server,
      Optional<UnixSocketHeartbeatServer> socket,
      Optional<io.opsscaffold.daemon.api.LocalApiSocket> apiSocket,
      LinkRunner link,
      ChannelSource channel) {
    this.settings = settings;
    this.reread = reread;
    this.supervisor = supervisor;
    this.health = health;
    this.server = server;
    this.socket = socket;
    this.apiSocket = apiSocket;
    this.link = link;
    this.channel = channel;
  }

  /**
   * Builds and starts the daemon: re-adopts or starts its agents, listens for heartbeats and the
   * local API, and connects to the manager.
   *
   * @param reread reads the configuration file again, for a reload (throws {@link
   *     SettingsException})
   * @throws UncheckedIOException when the heartbeat socket cannot be opened
   */
  public static DaemonApp start(
      DaemonSettings settings,
      Supplier<DaemonSettings> reread,
      Telemetry telemetry,
      Wiring wiring) {
    SharedMappers.install();
    Time time = wiring.time();
    Outbox outbox = new Outbox(time);
    AgentLogs logs = new AgentLogs(settings.dataDir().resolve("logs"));
    Supervisor supervisor =
        new Supervisor(
            settings.agents(),
            wiring.launchers().apply(logs),
            outbox,
            time,
            wiring.random(),
            telemetry.tracer(),
            logs,
            new AgentStateStore(settings.dataDir().resolve("state")));
    HeartbeatIntake intake = new HeartbeatIntake(supervisor, time.clock());
    HealthMonitor health =
        new HealthMonitor(
            supervisor, new ResourceMonitor(time.clock()), settings.monitorInterval(), time);
    LocalQueries queries = new LocalQueries(supervisor, health, logs, time);

    DaemonApp[] self = new DaemonApp[1];
    Supplier<ReloadConfigResponse> reload = () -> self[0].reload();
    GrpcTracing tracing = new GrpcTracing(telemetry);
    BindableService api =
        tracing.traced(new DaemonGrpcService(supervisor, health, queries, reload, time));
    io.opsscaffold.daemon.api.RelayedConnections relayed =
        new io.opsscaffold.daemon.api.RelayedConnections();
    io.opsscaffold.daemon.api.LocalApiGuard guard =
        io.opsscaffold.daemon.api.LocalApiGuard.inFile(
            settings.dataDir().resolve("local-api.token"),
            settings.localApi().tcp(),
            settings.localApi().socket(),
            relayed);
    HttpRouting.Builder http =
        HttpRouting.builder()
            .addFilter(new HttpTracingFilter(telemetry))
            .addFilter(guard) // the local API's routes; heartbeats pass
            .register(
                new HeartbeatHttpService(
                    intake,
                    new io.opsscaffold.daemon.heartbeat.TcpSenders(
                        io.opsscaffold.daemon.heartbeat.ProcSockets.system())));
    HttpJsonTranscoder.create(List.<BindableService>of(api))
        // Helidon's payload limit below holds for HTTP/1.1; this one for HTTP/2 as well.
        .limitBodies(HeartbeatHttpService.MAX_BODY_BYTES * 4L, "the daemon's request limit")
        .register(http);
    WebServer server =
        WebServer.builder()
            .host(settings.host())
            .port(settings.port())
            .connectionOptions(o -> o.tcpNoDelay(true))
            .maxPayloadSize(HeartbeatHttpService.MAX_BODY_BYTES * 4L)
            .shutdownHook(false)
            .addFeature(GrpcReflectionFeature.create(r -> r.enabled(true)))
            .addRouting(http)
            .addRouting(
                GrpcRouting.builder()
                    .intercept(guard) // the local API and reflection alike
                    .service(DaemonProto.getDescriptor(), api))
            .build()
            .start();
    if (!server.isRunning() || server.port() < 0) {
      // Helidon has logged why; the daemon stops with one clear line instead of a stack trace.
      server.stop();
      supervisor.close(false);
      throw io.opsscaffold.settings.BindFailure.of(settings.host(), settings.port());
    }
    Optional<io.opsscaffold.daemon.api.LocalApiSocket> apiSocket = Optional.empty();
    if (settings.localApi().socket().isPresent()) {
      try {
        apiSocket =
            Optional.of(
                new io.opsscaffold.daemon.api.LocalApiSocket(
                    settings.localApi().socket().get(),
                    new java.net.InetSocketAddress(relayHost(settings.host()), server.port()),
                    relayed));
      } catch (IOException e) {
        server.stop();
        supervisor.close(false);
        throw new UncheckedIOException(
            "cannot listen on "
                + settings.localApi().socket().get()
                + " (server.api-socket): "
                + e.getMessage(),
            e);
      }
    }
    Optional<UnixSocketHeartbeatServer> socket = Optional.empty();
    if (settings.socket().isPresent()) {
      try {
        socket =
            Optional.of(
                new UnixSocketHeartbeatServer(
                    settings.socket().get(),
                    intake,
                    io.opsscaffold.daemon.heartbeat.PeerCredentials.system(),
                    io.opsscaffold.daemon.heartbeat.ProcSockets.system()));
      } catch (IOException e) {
        server.stop();
        supervisor.close(false);
        throw new UncheckedIOException(
            "cannot listen on " + settings.socket().get() + ": " + e.getMessage(), e);
      }
    }
    supervisor.startAll();
    health.start();
    DaemonMetrics.register(telemetry.meter(), settings.nodeId(), supervisor, health, intake);

    ChannelSource channel = wiring.channels().apply(settings);
    LinkCommands commands =
        new LinkCommands(
            supervisor,
            queries,
            new ConfigPusher(supervisor, time),
            telemetry.tracer(),
            time.clock(),
            settings.nodeId());
    LinkRunner link =
        new LinkRunner(
            settings.link(),
            hello(settings),
            channel,
            supervisor::snapshots,
            outbox,
            commands,
            () -> health.hostHistory().latest().map(HostProtos::host),
            time,
            wiring.random());
    link.start();
    self[0] =
        new DaemonApp(
            settings, reread, supervisor, health, server, socket, apiSocket, link, channel);
    return self[0];
  }

  /**
   * Re-reads the configuration and applies its agents: added agents start, removed ones stop,
   * changed ones restart, untouched ones keep running. Blocks until the stops are done.
   *
   * @throws OpsException INVALID_ARGUMENT listing every problem of a bad file (nothing is changed)
   */
  public ReloadConfigResponse reload() {
    DaemonSettings next;
    try {
      next = reread.get();
    } catch (SettingsException e) {
      throw OpsException.invalidArgument(e.getMessage() + "\nnothing was changed");
    }
    Supervisor.ReloadResult r = supervisor.reload(next.agents());
    return ReloadConfigResponse.newBuilder()
        .addAllAdded(r.added())
        .addAllRemoved(r.removed())
        .addAllChanged(r.changed())
        .addAllUnchanged(r.unchanged())
        .addAllNeedsRestart(settings.needsRestart(next))
        .build();
  }

  static Hello hello(DaemonSettings s) {
    return Hello.newBuilder()
        .setNodeId(s.nodeId())
        .setHostname(s.hostname())
        .setIp(s.ip())
        .setOs(System.getProperty("os.name") + " " + System.getProperty("os.version"))
        .setArch(System.getProperty("os.arch"))
        .setDaemonVersion(VERSION)
        .setProtocolVersion(1)
        .setDaemonInstanceId(UUID.randomUUID().toString())
        .setLabels(
            NodeLabels.newBuilder()
                .setArea(s.area())
                .setZone(s.zone())
                .setCloudId((int) s.cloudId())
                .setBusiness(s.business())
                .putAllExtra(s.extraLabels()))
        .build();
  }

  public Supervisor supervisor() {
    return supervisor;
  }

  /** The port of the heartbeat listener and local API. */
  public int port() {
    return server.port();
  }

  /** The Unix socket of the local API, when it has one. */
  public Optional<java.nio.file.Path> apiSocketPath() {
    return apiSocket.map(io.opsscaffold.daemon.api.LocalApiSocket::path);
  }

  /** Where the local API's relay reaches the daemon's port: loopback when it listens on all. */
  private static String relayHost(String host) {
    return host.equals("0.0.0.0") || host.equals("::") || host.isBlank() ? "127.0.0.1" : host;
  }

  public Optional<java.nio.file.Path> socketPath() {
    return socket.map(UnixSocketHeartbeatServer::path);
  }

  /** Whether the stream to the manager is up and welcomed. */
  public boolean linked() {
    return link.connected();
  }

  /**
   * Stops the daemon: health checks, the agents (each its stop signal, SIGKILL after its stop
   * timeout; unless {@code stop-agents-on-exit: false}), the link, the listeners.
   */
  @Override
  public void close() {
    LOG.info("daemon stopping");
    health.close();
    supervisor.close(settings.stopAgentsOnExit());
    link.close();
    channel.close();
    socket.ifPresent(UnixSocketHeartbeatServer::close);
    apiSocket.ifPresent(io.opsscaffold.daemon.api.LocalApiSocket::close);
    server.stop();
  }
}
