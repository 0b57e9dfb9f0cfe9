package io.opsscaffold.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.platform.v1.BatchOperateRequest;
import io.opsscaffold.api.platform.v1.GetAvailabilityRequest;
import io.opsscaffold.api.platform.v1.ListAgentsRequest;
import io.opsscaffold.api.platform.v1.ListControllersRequest;
import io.opsscaffold.api.platform.v1.PlatformServiceGrpc;
import io.opsscaffold.api.platform.v1.Target;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.cluster.ClusterSettings;
import io.opsscaffold.manager.identity.Role;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.manager.tls.TlsPolicy;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.security.Pem;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.EtcdServer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The platform secured by default: TLS on its own port, bearer tokens with the manager's roles, and
 * TLS plus an area token towards a manager that runs with TLS too. Configured from YAML, as {@code
 * platform.yaml}.
 */
class PlatformSecurityIT {
  private EtcdServer etcd;
  private Telemetry telemetry;
  private TestDatabases.Created pg;
  private ManagerApp manager;
  private Path managerData;
  private PlatformApp platform;
  private Path platformData;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    etcd = EtcdServer.start();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    pg = TestDatabases.postgres();
    managerData = Files.createTempDirectory("m");
    manager =
        ManagerApp.start(
            new ManagerSettings(
                    "127.0.0.1",
                    0,
                    pg.settings(managerData),
                    Duration.ofSeconds(5),
                    Duration.ofMillis(300),
                    Duration.ofSeconds(5),
                    Optional.empty(),
                    Duration.ofSeconds(1),
                    Optional.empty(),
                    TlsPolicy.auto(managerData),
                    ManagerSettings.Limits.DEFAULT)
                .withCluster(
                    ClusterSettings.none()
                        .with(List.of(URI.create(etcd.endpoint())), "north", "n-1")
                        .plaintextOnLoopback()
                        .withTimings(Duration.ofSeconds(2), Duration.ofSeconds(1))),
            telemetry);
    platformData = Files.createTempDirectory("p");
    String yaml =
        String.join(
            "\n",
            "server: {host: 127.0.0.1, port: 0}",
            "data-dir: " + platformData,
            "etcd: {endpoints: [" + etcd.endpoint() + "], insecure: true}",
            "controller:",
            "  ca-files: {north: " + managerData.resolve("tls/ca.crt") + "}",
            "  token-files: {north: " + managerData.resolve("admin.token") + "}",
            "cache: {agents-ttl: 1s}",
            "");
    platform = PlatformApp.start(PlatformSettings.read(Settings.ofYaml(yaml)), telemetry);
    X509Certificate ca =
        Pem.certificates(Files.readString(platformData.resolve("tls/ca.crt"))).getFirst();
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", platform.port())
            .sslContext(GrpcSslContexts.forClient().trustManager(ca).build())
            .build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    platform.close();
    manager.close();
    pg.close();
    etcd.close();
    telemetry.close();
  }

  private static CallCredentials bearer(String token) {
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier apply) {
        Metadata m = new Metadata();
        m.put(
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        apply.apply(m);
      }
    };
  }

  @Test
  void callsNeedATokenWhoseRoleAllowsThem() throws Exception {
    var anonymous = PlatformServiceGrpc.newBlockingStub(channel);
    StatusRuntimeException none =
        assertThrows(
            StatusRuntimeException.class,
            () -> anonymous.listControllers(ListControllersRequest.getDefaultInstance()));
    assertEquals(Status.Code.UNAUTHENTICATED, none.getStatus().getCode());

    String admin = Files.readString(platformData.resolve("admin.token")).strip();
    String forged = admin.substring(0, admin.indexOf('.') + 1) + "x".repeat(43);
    StatusRuntimeException wrong =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                anonymous
                    .withCallCredentials(bearer(forged))
                    .listControllers(ListControllersRequest.getDefaultInstance()));
    assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
    assertFalse(wrong.getStatus().getDescription().contains("xxxx"), "no secret echoed");

    // A viewer added to the tokens file while the platform runs reads, and may not operate.
    String viewer = PlatformTokens.add(platformData.resolve("tokens"), "dashboards", Role.VIEWER);
    var asViewer = anonymous.withCallCredentials(bearer(viewer));
    // The file's time is looked at once a second: the new token works within that.
    assertEquals(
        1,
        Await.until(
            Duration.ofSeconds(5),
            "the viewer token accepted",
            () ->
                asViewer
                    .listControllers(ListControllersRequest.getDefaultInstance())
                    .getControllersCount(),
            n -> n >= 0));
    StatusRuntimeException denied =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                asViewer.batchOperate(
                    BatchOperateRequest.newBuilder()
                        .setOperation("restart")
                        .addTargets(Target.newBuilder().setArea("north").setId("web-1"))
                        .addServices("beat")
                        .build()));
    assertEquals(Status.Code.PERMISSION_DENIED, denied.getStatus().getCode());
    assertTrue(denied.getStatus().getDescription().contains("operator"), denied.getMessage());
  }

  @Test
  void listsAnAreaWhoseManagerRunsWithTlsUsingTheAreasCaAndToken() {
    String admin;
    try {
      admin = Files.readString(platformData.resolve("admin.token")).strip();
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
    var api = PlatformServiceGrpc.newBlockingStub(channel).withCallCredentials(bearer(admin));
    // The manager has no nodes: the area is listed (it has an entry, neither missing nor stale).
    var availability =
        Await.until(
            Duration.ofSeconds(15),
            "north listed over TLS",
            () -> api.getAvailability(GetAvailabilityRequest.getDefaultInstance()),
            a ->
                a.getAreasList().stream().anyMatch(x -> x.getArea().equals("north"))
                    && a.getMissingAreasCount() == 0
                    && a.getStaleAreasCount() == 0);
    assertEquals(0, availability.getAreas(0).getAgentsTotal());
    assertEquals(0, api.listAgents(ListAgentsRequest.getDefaultInstance()).getTotal());
    assertTrue(
        api.listControllers(ListControllersRequest.getDefaultInstance())
            .getControllers(0)
            .getMetadataOrThrow("api")
            .startsWith("https://"));
  }
}
