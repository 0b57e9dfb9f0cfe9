package io.opsscaffold.manager;

import io.grpc.BindableService;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthProto;
import io.grpc.protobuf.services.HealthStatusManager;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.grpc.GrpcReflectionFeature;
import io.helidon.webserver.grpc.GrpcRouting;
import io.helidon.webserver.http.HttpRouting;
import io.opsscaffold.api.fleet.v1.FleetProto;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.link.v1.LinkProto;
import io.opsscaffold.manager.fleet.FleetGrpcService;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.link.ConnectivityTracker;
import io.opsscaffold.manager.link.LinkGrpcService;
import io.opsscaffold.manager.link.SessionRegistry;
import io.opsscaffold.manager.link.StateWriter;
import io.opsscaffold.manager.operations.CommandRouter;
import io.opsscaffold.manager.operations.OperationService;
import io.opsscaffold.manager.persistence.Database;
import io.opsscaffold.manager.persistence.JdbcFleetRepository;
import io.opsscaffold.manager.tls.ManagerTls;
import io.opsscaffold.observability.GrpcTracing;
import io.opsscaffold.observability.HttpTracingFilter;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.time.Time;
import io.opsscaffold.transcoding.HttpJsonTranscoder;
import io.opsscaffold.transcoding.SharedMappers;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The running manager: database, link endpoint, fleet API over gRPC and HTTP/JSON, on one port.
 * Built from settings by {@link #start}; {@link #close} stops it in reverse order.
 */
public final class ManagerApp implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ManagerApp.class.getName());

  /** The manager's version, as the controller status reports it. */
  public static final String VERSION = "0.1.0";

  private final WebServer server;
  private final Database database;
  private final StateWriter writer;
  private final ConnectivityTracker connectivity;
  private final CommandRouter router;
  private final HealthStatusManager health;
  private final List<String> routes;
  private final io.opsscaffold.manager.alerts.AlertEngine alerts;
  private final io.opsscaffold.manager.fleet.AgentWatch agentWatch;
  private final Optional<ManagerTls> tls;
  private final Optional<Cluster> cluster;

  /** The manager's part in its area's cluster on etcd: all close in this order. */
  private record Cluster(
      io.opsscaffold.manager.cluster.ControllerRegistration registration,
      io.opsscaffold.manager.cluster.AreaLeadership leadership,
      io.opsscaffold.manager.cluster.PeerRelay relay,
      io.opsscaffold.manager.cluster.EtcdStreams streams,
      io.opsscaffold.manager.persistence.FleetChanges changes,
      io.opsscaffold.manager.cluster.Etcd etcd) {}

  /** Before the server starts: etcd and the area's stream claims, listed. */
  private record Joining(
      io.opsscaffold.manager.cluster.Etcd etcd,
      String managerId,
      io.opsscaffold.manager.cluster.EtcdStreams streams,
      io.opsscaffold.manager.persistence.FleetChanges changes) {}

  private ManagerApp(
      WebServer server,
      Database database,
      StateWriter writer,
      ConnectivityTracker connectivity,
      CommandRouter router,
      HealthStatusManager health,
      List<String> routes,
      io.opsscaffold.manager.alerts.AlertEngine alerts,
      io.opsscaffold.manager.fleet.AgentWatch agentWatch,
      Optional<ManagerTls> tls,
      Optional<Cluster> cluster) {
    this.tls = tls;
    this.cluster = cluster;
    this.agentWatch = agentWatch;
    this.alerts = alerts;
    this.server = server;
    this.database = database;
    this.writer = writer;
    this.connectivity = connectivity;
    this.router = router;
    this.health = health;
    this.routes = routes;
  }

  public static ManagerApp start(ManagerSettings settings, Telemetry telemetry) {
    SharedMappers.install();
    return start(settings, telemetry, Time.system());
  }

  /** Starts the manager with every timer and time reading on {@code time}. */
  public static ManagerApp start(ManagerSettings settings, Telemetry telemetry, Time time) {
    SharedMappers.install();
    Clock clock = time.clock();
    Optional<ManagerTls> tls = ManagerTls.prepare(settings.tls(), settings.host(), clock);
    if (settings.cluster().enabled() && settings.database().url().isEmpty()) {
      throw new IllegalArgumentException(
          "etcd.endpoints: several managers of an area share one PostgreSQL database; set"
              + " database.url (the embedded database is this process's own)");
    }
    Database database = Database.open(settings.database());
    JdbcFleetRepository jdbcFleet = new JdbcFleetRepository(database);
    FleetRepository repository = jdbcFleet;
    SessionRegistry registry = new SessionRegistry();
    StateWriter writer =
        new StateWriter(repository, registry, telemetry.tracer(), telemetry.meter(), time);
    ConnectivityTracker connectivity =
        new ConnectivityTracker(
            registry, writer, time, settings.offlineGrace(), settings.pingInterval());
    CommandRouter router = new CommandRouter(time);
    FleetQueries queries =
        new FleetQueries(
            repository,
            clock,
            () ->
                io.opsscaffold.manager.identity.ApiGuard.current()
                    .map(io.opsscaffold.manager.identity.Principal::areas)
                    .orElse(List.of()));
    io.opsscaffold.manager.operations.OperationRepository operationLog =
        ManagerMetrics.metered(
            new io.opsscaffold.manager.persistence.JdbcOperationRepository(database),
            telemetry.meter());
    OperationService operations =
        new OperationService(
            queries,
            registry,
            router,
            telemetry.tracer(),
            clock,
            settings.operationTimeout(),
            operationLog);
    io.opsscaffold.manager.operations.BatchOperations batches =
        new io.opsscaffold.manager.operations.BatchOperations(
            queries,
            operations,
            operationLog,
            telemetry.tracer(),
            clock,
            settings.limits().maxBatchTargets());

    GrpcTracing tracing = new GrpcTracing(telemetry);
    io.opsscaffold.manager.alerts.AlertRepository alertLog =
        new io.opsscaffold.manager.persistence.JdbcAlertRepository(database);
    io.opsscaffold.manager.alerts.AlertEngine alerts =
        new io.opsscaffold.manager.alerts.AlertEngine(
            repository,
            alertLog,
            time,
            settings
                .alertWebhook()
                .map(
                    u ->
                        new io.opsscaffold.manager.alerts.AlertWebhook(
                            u, Duration.ofSeconds(1), time)),
            settings.alertScanInterval(),
            writer::current);
    writer.afterCommit(alerts::committed);
    if (settings.cluster().enabled()) {
      alerts.leading(false); // until elected
    }
    ManagerMetrics.register(telemetry.meter(), registry, alerts, repository);
    io.opsscaffold.manager.fleet.AgentWatch agentWatch =
        new io.opsscaffold.manager.fleet.AgentWatch(repository, clock);
    writer.afterCommit(agentWatch::committed);
    io.opsscaffold.manager.identity.IdentityRepository identities =
        new io.opsscaffold.manager.persistence.JdbcIdentityRepository(database);
    io.opsscaffold.manager.identity.ApiTokens apiTokens =
        new io.opsscaffold.manager.identity.ApiTokens(identities, clock);
    apiTokens.bootstrap(settings.database().dataDir().resolve("admin.token"));
    // Every call over gRPC passes the guard as the routing's interceptor (reflection included);
    // over HTTP the transcoder calls services wrapped in the same guard.
    io.opsscaffold.manager.identity.ApiGuard guard =
        new io.opsscaffold.manager.identity.ApiGuard(
            apiTokens, tls.isEmpty(), settings.limits().maxStreamsPerToken());
    io.opsscaffold.manager.identity.Enrollment enrollment =
        new io.opsscaffold.manager.identity.Enrollment(
            identities, tls.map(ManagerTls::ca), settings.tls().nodeValidity(), clock);
    if (tls.isPresent() && settings.tls().enrollmentTokenFile().isPresent()) {
      enrollment.writeTokenFile(settings.tls().enrollmentTokenFile().get());
    }
    io.opsscaffold.manager.identity.NodeRemoval removal =
        new io.opsscaffold.manager.identity.NodeRemoval(
            identities, repository, registry, writer, clock);
    // One FleetService on the wire, one adapter per feature in the code.
    io.grpc.ServerServiceDefinition fleetService =
        ServiceParts.compose(
            FleetServiceGrpc.getServiceDescriptor(),
            FleetServiceGrpc.AsyncService.class,
            FleetServiceGrpc::bindService,
            List.of(
                new FleetGrpcService(queries, agentWatch),
                new io.opsscaffold.manager.operations.OperationsGrpcService(
                    operations, batches, operationLog, clock),
                new io.opsscaffold.manager.alerts.AlertsGrpcService(alertLog, alerts, queries)));
    BindableService fleet = tracing.traced(() -> fleetService);
    LinkGrpcService link =
        LinkGrpcService.create(
            registry,
            writer,
            connectivity,
            router,
            clock,
            settings.pingInterval(),
            tls.isPresent()
                ? enrollment
                : io.opsscaffold.manager.link.NodeAuthenticator.SELF_DECLARED);
    BindableService enroll =
        tracing.traced(
            new io.opsscaffold.manager.identity.IdentityGrpcServices.EnrollmentApi(enrollment));
    BindableService admin =
        tracing.traced(
            new io.opsscaffold.manager.identity.IdentityGrpcServices.AdminApi(
                enrollment, identities, removal, apiTokens, clock));
    HealthStatusManager health = new HealthStatusManager();
    BindableService gse =
        tracing.traced(new io.opsscaffold.manager.gse.GseGrpcService(repository, clock));
    BindableService controller =
        tracing.traced(
            new io.opsscaffold.manager.compat.ControllerGrpcService(
                repository, queries, operations, batches, clock, VERSION));
    HttpJsonTranscoder transcoder =
        HttpJsonTranscoder.create(
                java.util.stream.Stream.of(fleet, gse, controller, enroll, admin)
                    .<BindableService>map(
                        svc -> () -> io.grpc.ServerInterceptors.intercept(svc, guard))
                    .toList())
            .limitBodies(settings.limits().maxRequestBytes(), "limits.max-request-bytes");

    Optional<Joining> joining =
        settings.cluster().enabled()
            ? Optional.of(
                claims(
                    settings,
                    registry,
                    connectivity,
                    jdbcFleet,
                    database,
                    alerts,
                    agentWatch,
                    time))
            : Optional.empty();
    if (joining.isEmpty()) {
      connectivity.start(repository); // before the server listens: see ConnectivityTracker.start
    }
    // Another manager of the area relays commands for nodes whose stream this one holds.
    Optional<io.opsscaffold.manager.identity.ManagerCredentials> managers =
        joining.map(
            j ->
                new io.opsscaffold.manager.identity.ManagerCredentials(
                    tls.map(ManagerTls::ca), j.managerId(), clock));
    HttpRouting.Builder http = HttpRouting.builder().addFilter(new HttpTracingFilter(telemetry));
    transcoder.register(http);
    // The HTTP health check, open like grpc.health.v1: it answers once the manager serves.
    http.get(
        "/health",
        (req, res) ->
            res.header(io.helidon.http.HeaderNames.CONTENT_TYPE, "application/json")
                .send("{\"status\":\"SERVING\"}\n"));
    GrpcRouting.Builder grpcRouting =
        GrpcRouting.builder()
            .intercept(guard)
            .service(FleetProto.getDescriptor(), fleet)
            .service(io.opsscaffold.api.gse.v1.GseProto.getDescriptor(), gse)
            .service(
                io.opsscaffold.api.compat.controller.v1.ControllerProto.getDescriptor(), controller)
            .service(LinkProto.getDescriptor(), link)
            .service(io.opsscaffold.api.admin.v1.AdminProto.getDescriptor(), enroll)
            .service(io.opsscaffold.api.admin.v1.AdminProto.getDescriptor(), admin)
            .service(HealthProto.getDescriptor(), health.getHealthService());
    joining.ifPresent(
        j ->
            grpcRouting.service(
                io.opsscaffold.api.cluster.v1.PeerProto.getDescriptor(),
                tracing.traced(
                    new io.opsscaffold.manager.operations.PeerGrpcService(
                        registry, router, managers.orElseThrow()::managerOf, j.managerId()))));
    io.helidon.webserver.WebServerConfig.Builder serverBuilder =
        WebServer.builder()
            .host(settings.host())
            .port(settings.port())
            .connectionOptions(o -> o.tcpNoDelay(true))
            .maxPayloadSize(settings.limits().maxRequestBytes())
            // Blocking sockets (virtual threads park on them as cheaply): Helidon's NIO socket
            // keeps an 8 KiB write buffer per connection besides its read buffer, a seventh of what
            // each daemon's stream costs the manager.
            .useNio(false)
            .idleConnectionTimeout(Duration.ofHours(1))
            .shutdownHook(false)
            .addFeature(GrpcReflectionFeature.create(r -> r.enabled(true)))
            .addRouting(http)
            .addRouting(grpcRouting);
    tls.ifPresent(t -> serverBuilder.tls(t.serverTls()));
    WebServer server = serverBuilder.build().start();
    connectivity.listening(); // the restart's grace periods run from here
    alerts.start();
    Optional<Cluster> cluster =
        joining.map(
            j ->
                join(
                    settings,
                    j,
                    operations,
                    managers.orElseThrow(),
                    tracing.clientInterceptor(),
                    server.port(),
                    tls.isPresent(),
                    registry,
                    connectivity,
                    repository,
                    alerts,
                    time));
    health.setStatus("", HealthCheckResponse.ServingStatus.SERVING);
    health.setStatus(
        "opsscaffold.fleet.v1.FleetService", HealthCheckResponse.ServingStatus.SERVING);
    health.setStatus("opsscaffold.gse.v1.GseService", HealthCheckResponse.ServingStatus.SERVING);
    health.setStatus(
        "opsscaffold.compat.controller.v1.ControllerService",
        HealthCheckResponse.ServingStatus.SERVING);
    health.setStatus(
        "opsscaffold.link.v1.DaemonLinkService", HealthCheckResponse.ServingStatus.SERVING);
    ManagerApp app =
        new ManagerApp(
            server,
            database,
            writer,
            connectivity,
            router,
            health,
            transcoder.describeRoutes(),
            alerts,
            agentWatch,
            tls,
            cluster);
    if (server.port() < 0) {
      // Helidon has logged why; stop what started rather than run with no listener.
      app.close();
      throw io.opsscaffold.settings.BindFailure.of(settings.host(), settings.port());
    }
    LOG.info(
        () ->
            "manager listening on "
                + settings.host()
                + ":"
                + server.port()
                + " (gRPC and HTTP/JSON, "
                + tls.map(t -> "TLS, CA " + t.ca().fingerprint()).orElse("PLAINTEXT")
                + "), database "
                + database.vendor());
    return app;
  }

  /**
   * Connects to etcd and lists the area's stream claims, before the server listens: the nodes
   * another manager holds are not marked UNCONFIRMED, and OFFLINE is judged by the area's leader.
   * When etcd cannot be listed now, no node is marked (a live manager may hold any of them); the
   * leader judges them once etcd answers.
   */
  private static Joining claims(
      ManagerSettings settings,
      SessionRegistry registry,
      ConnectivityTracker connectivity,
      JdbcFleetRepository repository,
      Database database,
      io.opsscaffold.manager.alerts.AlertEngine alerts,
      io.opsscaffold.manager.fleet.AgentWatch agentWatch,
      Time time) {
    var c = settings.cluster();
    String managerId =
        !c.managerId().isBlank()
            ? c.managerId()
            : hostName()
                + "-"
                + (settings.port() != 0
                    ? String.valueOf(settings.port())
                    : java.util.UUID.randomUUID().toString().substring(0, 6));
    var etcd = io.opsscaffold.manager.cluster.Etcd.connect(c);
    var streams =
        new io.opsscaffold.manager.cluster.EtcdStreams(etcd, c, managerId, registry::held, time);
    boolean listed = streams.start();
    if (!listed) {
      LOG.warning(
          "etcd "
              + c.endpoints()
              + " did not answer at start: no node is marked UNCONFIRMED; the area's leader"
              + " judges them once etcd answers");
    }
    registry.announceTo(streams);
    // The other managers' commits reach this manager's watches and alert engine through the
    // database; this manager's commits are announced to them in the same transactions.
    var changes =
        new io.opsscaffold.manager.persistence.FleetChanges(
            database,
            managerId,
            nodes -> {
              alerts.changedElsewhere(nodes);
              agentWatch.changedElsewhere(nodes);
            },
            () -> {
              alerts.rereadAll();
              agentWatch.missedChanges();
            },
            json -> {
              try {
                var event = io.opsscaffold.api.fleet.v1.AlertEvent.newBuilder();
                com.google.protobuf.util.JsonFormat.parser()
                    .ignoringUnknownFields()
                    .merge(json, event);
                alerts.heardElsewhere(event.build());
              } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                LOG.warning("an alert event from another manager could not be read: " + e);
              }
            });
    alerts.announceTo(
        event -> {
          try {
            changes.announceAlert(
                com.google.protobuf.util.JsonFormat.printer()
                    .omittingInsignificantWhitespace()
                    .print(event));
          } catch (java.sql.SQLException | com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e.getMessage(), e);
          }
        });
    changes.start();
    repository.announceAs(managerId);
    connectivity.judgedByLeader(streams::heldElsewhere);
    connectivity.start(repository, listed ? streams::heldElsewhere : nodeId -> true);
    return new Joining(etcd, managerId, streams, changes);
  }

  /**
   * Joins the area on etcd: campaigns for its lead (the alert engine and the OFFLINE judgment work
   * only while leading) and registers as a Controller. Neither waits for etcd: a manager whose etcd
   * is away serves its own streams and keeps trying.
   */
  private static Cluster join(
      ManagerSettings settings,
      Joining joining,
      OperationService operations,
      io.opsscaffold.manager.identity.ManagerCredentials managers,
      io.grpc.ClientInterceptor tracing,
      int port,
      boolean tls,
      SessionRegistry registry,
      ConnectivityTracker connectivity,
      FleetRepository repository,
      io.opsscaffold.manager.alerts.AlertEngine alerts,
      Time time) {
    var c = settings.cluster();
    String managerId = joining.managerId();
    String apiUrl =
        c.advertiseUrl()
            .map(java.net.URI::toString)
            .orElse((tls ? "https://" : "http://") + advertisedHost(settings.host()) + ":" + port);
    joining.streams().advertise(apiUrl);
    var relay =
        new io.opsscaffold.manager.cluster.PeerRelay(
            joining.streams(), managers, managerId, tracing);
    operations.relayTo(relay);
    var judgment =
        new io.opsscaffold.manager.cluster.OfflineJudgment(
            joining.streams(), connectivity, repository);
    var leadership =
        new io.opsscaffold.manager.cluster.AreaLeadership(
            joining.etcd(),
            c,
            managerId,
            leading -> {
              alerts.leading(leading);
              judgment.leading(leading);
            });
    var registration =
        new io.opsscaffold.manager.cluster.ControllerRegistration(
            joining.etcd(),
            c,
            managerId,
            apiUrl,
            VERSION,
            registry::size,
            leadership::leader,
            time);
    leadership.start();
    registration.start();
    LOG.info(
        () ->
            "manager "
                + managerId
                + " of area "
                + c.area()
                + " on etcd "
                + c.endpoints()
                + ", registered as "
                + io.opsscaffold.manager.cluster.ControllerRegistration.key(c, managerId));
    return new Cluster(
        registration, leadership, relay, joining.streams(), joining.changes(), joining.etcd());
  }

  /** The listening address when it is one, else this host's name. */
  private static String advertisedHost(String host) {
    return host.isBlank() || host.equals("0.0.0.0") || host.equals("::") ? hostName() : host;
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "localhost";
    }
  }

  /** Whether this manager leads its area: always when alone, on etcd while elected. */
  public boolean leader() {
    return cluster.map(c -> c.leadership().leader()).orElse(true);
  }

  /**
   * The CA daemons and clients trust (its certificate is {@code ca.crt} in tls.dir); empty without
   * TLS.
   */
  public Optional<java.security.cert.X509Certificate> caCertificate() {
    return tls.map(t -> t.ca().certificate());
  }

  /** The CA's SHA-256 fingerprint, as daemons pin it; empty without TLS. */
  public Optional<String> caFingerprint() {
    return tls.map(t -> t.ca().fingerprint());
  }

  public int port() {
    return server.port();
  }

  /** The HTTP/JSON routes the transcoder serves. */
  public List<String> routes() {
    return routes;
  }

  @Override
  public void close() {
    health.enterTerminalState();
    cluster.ifPresent(
        c -> {
          c.registration().close();
          c.leadership().close();
          c.relay().close();
        });
    server.stop();
    cluster.ifPresent(c -> c.changes().close());
    alerts.close();
    agentWatch.close();
    connectivity.close();
    router.close();
    writer.close();
    database.close();
    cluster.ifPresent(
        c -> {
          c.streams().close();
          c.etcd().close();
        });
  }
}
