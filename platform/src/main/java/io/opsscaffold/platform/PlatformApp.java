package io.opsscaffold.platform;

import io.grpc.BindableService;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthProto;
import io.grpc.protobuf.services.HealthStatusManager;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.grpc.GrpcReflectionFeature;
import io.helidon.webserver.grpc.GrpcRouting;
import io.helidon.webserver.http.HttpRouting;
import io.opsscaffold.api.platform.v1.PlatformProto;
import io.opsscaffold.manager.cluster.Etcd;
import io.opsscaffold.manager.identity.ApiGuard;
import io.opsscaffold.manager.tls.ManagerTls;
import io.opsscaffold.observability.GrpcTracing;
import io.opsscaffold.observability.HttpTracingFilter;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.transcoding.HttpJsonTranscoder;
import io.opsscaffold.transcoding.SharedMappers;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The running platform service: etcd discovery, the agent index, the API over gRPC and HTTP/JSON on
 * one port, TLS and bearer tokens as the manager's. Stateless: any number may run side by side.
 */
public final class PlatformApp implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PlatformApp.class.getName());

  private final WebServer server;
  private final Etcd etcd;
  private final Discovery discovery;
  private final AgentIndex index;
  private final Controllers controllers;
  private final Optional<ManagerTls> tls;

  private PlatformApp(
      WebServer server,
      Etcd etcd,
      Discovery discovery,
      AgentIndex index,
      Controllers controllers,
      Optional<ManagerTls> tls) {
    this.server = server;
    this.etcd = etcd;
    this.discovery = discovery;
    this.index = index;
    this.controllers = controllers;
    this.tls = tls;
  }

  /**
   * Starts the platform.
   *
   * @throws IllegalArgumentException naming the setting that cannot work
   */
  public static PlatformApp start(PlatformSettings settings, Telemetry telemetry) {
    SharedMappers.install();
    Clock clock = Clock.systemUTC();
    Optional<ManagerTls> tls = ManagerTls.prepare(settings.tls(), settings.host(), clock);
    PlatformTokens tokens =
        PlatformTokens.open(
            settings.tokensFile().orElse(settings.dataDir().resolve("tokens")),
            settings.dataDir().resolve("admin.token"));
    ApiGuard guard =
        new ApiGuard(tokens::authenticate, tls.isEmpty(), 100, new PlatformPermissions());
    GrpcTracing tracing = new GrpcTracing(telemetry);
    Etcd etcd = Etcd.connect(settings.etcd());
    Controllers controllers = new Controllers(settings.controller(), tracing.clientInterceptor());
    AtomicReference<AgentIndex> indexRef = new AtomicReference<>();
    AtomicReference<Discovery> discoveryRef = new AtomicReference<>();
    Discovery discovery =
        new Discovery(
            etcd,
            settings.watchPrefix(),
            settings.etcd().dialTimeout(),
            () -> {
              AgentIndex i = indexRef.get();
              if (i != null) {
                i.controllersChanged();
              }
              Discovery d = discoveryRef.get();
              if (d != null) {
                // Channels to controllers no longer registered are closed.
                controllers.retain(
                    d.all().stream()
                        .map(r -> r.area() + " " + r.record().getMetadataOrDefault("api", ""))
                        .collect(java.util.stream.Collectors.toSet()));
              }
            });
    discoveryRef.set(discovery);
    Areas areas = new Areas(discovery, clock, settings.controllersTtl());
    Semaphore workers = new Semaphore(settings.maxWorkers());
    AgentIndex index =
        new AgentIndex(
            areas,
            controllers,
            clock,
            settings.agentsTtl(),
            settings.controller().timeout(),
            settings.controller().retries(),
            settings.controller().retryInterval(),
            workers);
    indexRef.set(index);
    PlatformMetrics.register(telemetry.meter(), index);
    CrossAreaBatch batches = new CrossAreaBatch(areas, index, controllers, workers);
    BindableService api =
        tracing.traced(
            new PlatformGrpcService(
                discovery, areas, index, batches, clock, settings.controllersTtl()));
    HealthStatusManager health = new HealthStatusManager();
    HttpJsonTranscoder transcoder =
        HttpJsonTranscoder.create(
                List.<BindableService>of(() -> io.grpc.ServerInterceptors.intercept(api, guard)))
            .limitBodies(16 * 1024 * 1024, "16 MiB");
    HttpRouting.Builder http = HttpRouting.builder().addFilter(new HttpTracingFilter(telemetry));
    transcoder.register(http);
    http.get(
        "/health",
        (req, res) ->
            res.header(io.helidon.http.HeaderNames.CONTENT_TYPE, "application/json")
                .send("{\"status\":\"SERVING\"}\n"));
    GrpcRouting.Builder grpc =
        GrpcRouting.builder()
            .intercept(guard)
            .service(PlatformProto.getDescriptor(), api)
            .service(HealthProto.getDescriptor(), health.getHealthService());
    boolean listed = discovery.start();
    if (!listed) {
      LOG.warning("etcd did not answer at start; the platform lists controllers once it does");
    }
    index.start();
    io.helidon.webserver.WebServerConfig.Builder builder =
        WebServer.builder()
            .host(settings.host())
            .port(settings.port())
            .connectionOptions(o -> o.tcpNoDelay(true))
            .shutdownHook(false)
            // Blocking sockets, as the manager's: Helidon's NIO TLS socket failed writing a small
            // HTTP/2 response here ("newPosition > limit").
            .useNio(false)
            .idleConnectionTimeout(Duration.ofHours(1))
            .addFeature(GrpcReflectionFeature.create(r -> r.enabled(true)))
            .addRouting(http)
            .addRouting(grpc);
    tls.ifPresent(t -> builder.tls(t.serverTls()));
    WebServer server = builder.build().start();
    PlatformApp app = new PlatformApp(server, etcd, discovery, index, controllers, tls);
    if (server.port() < 0) {
      // Helidon has logged why; stop what started rather than run with no listener.
      app.close();
      throw io.opsscaffold.settings.BindFailure.of(settings.host(), settings.port());
    }
    health.setStatus("", HealthCheckResponse.ServingStatus.SERVING);
    health.setStatus(
        "opsscaffold.platform.v1.PlatformService", HealthCheckResponse.ServingStatus.SERVING);
    LOG.info(
        () ->
            "platform listening on "
                + settings.host()
                + ":"
                + server.port()
                + " (gRPC and HTTP/JSON, "
                + tls.map(t -> "TLS, CA " + t.ca().fingerprint()).orElse("PLAINTEXT")
                + "), watching "
                + settings.watchPrefix()
                + " on etcd "
                + settings.etcd().endpoints());
    return app;
  }

  public int port() {
    return server.port();
  }

  /** The agent index (for tests of what is derived from it). */
  AgentIndex index() {
    return index;
  }

  /** The fingerprint of the platform's CA; empty in insecure mode. */
  public Optional<String> caFingerprint() {
    return tls.map(t -> t.ca().fingerprint());
  }

  @Override
  public void close() {
    server.stop();
    index.close();
    discovery.close();
    controllers.close();
    etcd.close();
  }
}
