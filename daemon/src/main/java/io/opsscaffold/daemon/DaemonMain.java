package io.opsscaffold.daemon;

import io.grpc.BindableService;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.grpc.GrpcReflectionFeature;
import io.helidon.webserver.grpc.GrpcRouting;
import io.opsscaffold.api.daemon.v1.DaemonProto;
import io.opsscaffold.api.daemon.v1.ReloadConfigResponse;
import io.opsscaffold.daemon.api.DaemonGrpcService;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.observability.GrpcTracing;
import io.opsscaffold.transcoding.HttpJsonTranscoder;
import io.opsscaffold.transcoding.SharedMappers;
import java.util.function.Supplier;
import io.helidon.webserver.http.HttpRouting;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.daemon.heartbeat.HeartbeatHttpService;
import io.opsscaffold.daemon.heartbeat.HeartbeatIntake;
import io.opsscaffold.daemon.heartbeat.UnixSocketHeartbeatServer;
import io.opsscaffold.daemon.link.LinkRunner;
import io.opsscaffold.daemon.health.HealthMonitor;
import io.opsscaffold.daemon.link.Outbox;
import io.opsscaffold.daemon.monitor.ResourceMonitor;
import io.opsscaffold.daemon.store.AgentStateStore;
import io.opsscaffold.daemon.logs.AgentLogs;
import io.opsscaffold.daemon.supervision.OsProcessLauncher;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.observability.HttpTracingFilter;
import io.opsscaffold.observability.JsonLogging;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import java.nio.file.Path;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Starts the daemon: {@code java -jar daemon.jar --config daemon.yaml}. Supervises the configured
 * agents, serves heartbeats, and keeps the stream to the manager. On SIGTERM or Ctrl-C it stops its
 * agents (unless {@code stop-agents-on-exit: false}) and exits. Exits 2 on bad config.
 */
public final class DaemonMain {
  /** The daemon's version, reported in Hello. */
  public static final String VERSION = "0.1.0";

  private DaemonMain() {}

  public static void main(String[] args) throws InterruptedException {
    JsonLogging.install("daemon", Level.INFO);
    SharedMappers.install();
    Optional<Path> file = configFile(args);
    DaemonSettings settings;
    try {
      settings = DaemonSettings.read(Settings.load(file, file.isPresent()));
    } catch (SettingsException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Telemetry telemetry =
        Telemetry.start(new TelemetryPolicy("ops-daemon", settings.otlpEndpoint(), Optional.empty()));
    Time time = Time.system();
    Clock clock = time.clock();
    Outbox outbox = new Outbox(time);
    AgentLogs logs = new AgentLogs(settings.dataDir().resolve("logs"));
    Supervisor supervisor = new Supervisor(settings.agents(), new OsProcessLauncher(logs), outbox, time,
        Math::random, telemetry.tracer(), logs, new AgentStateStore(settings.dataDir().resolve("state")));

    HeartbeatIntake intake = new HeartbeatIntake(supervisor, clock);
    HealthMonitor health = new HealthMonitor(supervisor, new ResourceMonitor(clock), settings.monitorInterval(), time);
    DaemonSettings started = settings;
    Supplier<ReloadConfigResponse> reload = () -> reload(file, started, supervisor);
    GrpcTracing tracing = new GrpcTracing(telemetry);
    DaemonGrpcService apiService = new DaemonGrpcService(new DaemonGrpcService.AgentDirectory() {
      @Override
      public java.util.List<io.opsscaffold.daemon.supervision.AgentRunner> runners() {
        return supervisor.runners();
      }

      @Override
      public Optional<io.opsscaffold.daemon.supervision.AgentRunner> runner(String agentId) {
        return supervisor.runner(agentId);
      }
    }, health, logs, reload, time);
    BindableService api = tracing.traced(apiService);
    HttpRouting.Builder http = HttpRouting.builder()
        .addFilter(new HttpTracingFilter(telemetry))
        .register(new HeartbeatHttpService(intake));
    HttpJsonTranscoder.create(java.util.List.of(api)).register(http);
    WebServer server = WebServer.builder()
        .host(settings.host())
        .port(settings.port())
        .connectionOptions(o -> o.tcpNoDelay(true))
        .maxPayloadSize(HeartbeatHttpService.MAX_BODY_BYTES * 4L)
        .shutdownHook(false)
        .addFeature(GrpcReflectionFeature.create(r -> r.enabled(true)))
        .addRouting(http)
        .addRouting(GrpcRouting.builder().service(DaemonProto.getDescriptor(), api))
        .build()
        .start();
    // SIGHUP reloads the configuration, as with most daemons (the JVM would otherwise exit on it).
    sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> Thread.ofVirtual().start(() -> {
      try {
        ReloadConfigResponse r = reload.get();
        Logger.getLogger(DaemonMain.class.getName()).info(() -> "SIGHUP: reloaded " + r.toString().replace('\n', ' '));
      } catch (RuntimeException e) {
        Logger.getLogger(DaemonMain.class.getName()).warning(() -> "SIGHUP: reload refused: " + e.getMessage());
      }
    }));
    Optional<UnixSocketHeartbeatServer> socket = Optional.empty();
    if (settings.socket().isPresent()) {
      try {
        socket = Optional.of(new UnixSocketHeartbeatServer(settings.socket().get(), intake));
      } catch (java.io.IOException e) {
        System.err.println("cannot listen on " + settings.socket().get() + ": " + e.getMessage());
        System.exit(1);
      }
    }
    Optional<UnixSocketHeartbeatServer> socketServer = socket;
    supervisor.startAll();
    health.start();
    DaemonMetrics.register(telemetry.meter(), settings.nodeId(), supervisor, health, intake);

    LinkRunner link = new LinkRunner(settings.link(), hello(settings), supervisor, outbox, telemetry.tracer(), time,
        Math::random, () -> health.hostHistory().latest().map(io.opsscaffold.daemon.api.HostProtos::host),
        apiService.queries(), new io.opsscaffold.daemon.config.ConfigPusher(supervisor, time));
    link.start();

    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM and Ctrl-C run this hook; after a clean stop the process ends with status 0.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      Logger.getLogger(DaemonMain.class.getName()).info("daemon stopping");
      health.close();
      supervisor.close(settings.stopAgentsOnExit());
      link.close();
      socketServer.ifPresent(UnixSocketHeartbeatServer::close);
      server.stop();
      telemetry.close();
      stopped.countDown();
      Runtime.getRuntime().halt(0);
    }, "daemon-shutdown"));
    System.out.println("ops-daemon " + settings.nodeId() + " ready: heartbeats on http://"
        + settings.host() + ":" + server.port() + "/heartbeat"
        + socketServer.map(s -> " and unix:" + s.path()).orElse("") + ", manager " + settings.link().address()
        + ", " + settings.agents().size() + " agent(s)");
    stopped.await();
  }

  /** Re-reads {@code file} and applies its agents; INVALID_ARGUMENT listing the problems of a bad file. */
  static ReloadConfigResponse reload(Optional<Path> file, DaemonSettings running, Supervisor supervisor) {
    DaemonSettings next;
    try {
      next = DaemonSettings.read(Settings.load(file, true));
    } catch (SettingsException e) {
      throw OpsException.invalidArgument(e.getMessage() + "\nnothing was changed");
    }
    Supervisor.ReloadResult r = supervisor.reload(next.agents());
    return ReloadConfigResponse.newBuilder()
        .addAllAdded(r.added()).addAllRemoved(r.removed()).addAllChanged(r.changed())
        .addAllUnchanged(r.unchanged()).addAllNeedsRestart(running.needsRestart(next)).build();
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
        .setLabels(NodeLabels.newBuilder()
            .setArea(s.area())
            .setZone(s.zone())
            .setCloudId((int) s.cloudId())
            .setBusiness(s.business())
            .putAllExtra(s.extraLabels()))
        .build();
  }

  static Optional<Path> configFile(String[] args) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--config")) {
        return Optional.of(Path.of(args[i + 1]));
      }
    }
    String env = System.getenv("OPS_DAEMON_CONFIG");
    return env == null || env.isBlank() ? Optional.of(Path.of("daemon.yaml")) : Optional.of(Path.of(env));
  }
}
