package io.opsscaffold.manager.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.persistence.DatabaseSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.security.CertificateAuthority;
import io.opsscaffold.security.TlsContexts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manager's one port over TLS with its own CA: gRPC and HTTP/JSON, refusing plaintext and
 * strangers.
 */
class ManagerTlsTest {
  @TempDir Path dir;
  private Telemetry telemetry;
  private ManagerApp manager;
  private DatabaseSettings db;

  private static ManagerSettings settings(String host, DatabaseSettings db, TlsPolicy tls) {
    return new ManagerSettings(
        host,
        0,
        db,
        Duration.ofSeconds(10),
        Duration.ofSeconds(30),
        Duration.ofSeconds(5),
        Optional.empty(),
        Duration.ofSeconds(2),
        Optional.empty(),
        tls);
  }

  @BeforeEach
  void start() {
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    db = TestDatabases.h2();
    manager = ManagerApp.start(settings("127.0.0.1", db, TlsPolicy.auto(dir)), telemetry);
  }

  @AfterEach
  void stop() {
    if (manager != null) {
      manager.close();
    }
    telemetry.close();
  }

  private ManagedChannel channel(X509Certificate trusted) throws Exception {
    return NettyChannelBuilder.forAddress("127.0.0.1", manager.port())
        .sslContext(GrpcSslContexts.forClient().trustManager(trusted).build())
        .build();
  }

  private static HealthCheckResponse.ServingStatus health(ManagedChannel ch) {
    return HealthGrpc.newBlockingStub(ch)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance())
        .getStatus();
  }

  @Test
  void grpcAndHttpAnswerOverTlsToAClientThatTrustsTheManagersCa() throws Exception {
    X509Certificate ca = manager.caCertificate().orElseThrow();
    ManagedChannel ch = channel(ca);
    try {
      assertEquals(HealthCheckResponse.ServingStatus.SERVING, health(ch));
    } finally {
      ch.shutdownNow();
    }
    HttpClient https =
        HttpClient.newBuilder()
            .sslContext(TlsContexts.create(Optional.empty(), List.of(ca)))
            .build();
    URI nodesUri = URI.create("https://127.0.0.1:" + manager.port() + "/api/v1/nodes");
    HttpResponse<String> anonymous =
        https.send(HttpRequest.newBuilder(nodesUri).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, anonymous.statusCode(), "no anonymous access over TLS: " + anonymous.body());
    String token = java.nio.file.Files.readString(db.dataDir().resolve("admin.token")).strip();
    HttpResponse<String> nodes =
        https.send(
            HttpRequest.newBuilder(nodesUri).header("Authorization", "Bearer " + token).build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, nodes.statusCode(), nodes.body());
    HttpResponse<String> health =
        https.send(
            HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + manager.port() + "/health"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode(), "the HTTP health check stays open");
  }

  @Test
  void plaintextAndClientsTrustingAnotherCaAreRefused() throws Exception {
    ManagedChannel plain =
        NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    try {
      assertThrows(StatusRuntimeException.class, () -> health(plain));
    } finally {
      plain.shutdownNow();
    }
    X509Certificate stranger =
        CertificateAuthority.loadOrCreate(dir.resolve("other"), Clock.systemUTC()).certificate();
    ManagedChannel wrong = channel(stranger);
    try {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> health(wrong));
      assertTrue(
          e.getCause() instanceof SSLHandshakeException
              || String.valueOf(e.getCause()).contains("SSL"),
          String.valueOf(e.getCause()));
    } finally {
      wrong.shutdownNow();
    }
    HttpClient plainHttp = HttpClient.newHttpClient();
    assertThrows(
        java.io.IOException.class,
        () ->
            plainHttp.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + manager.port() + "/api/v1/nodes"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
  }

  @Test
  void theCaIsKeptAcrossRestarts() {
    String fingerprint = manager.caFingerprint().orElseThrow();
    manager.close();
    manager =
        ManagerApp.start(settings("127.0.0.1", TestDatabases.h2(), TlsPolicy.auto(dir)), telemetry);
    assertEquals(fingerprint, manager.caFingerprint().orElseThrow());
  }

  @Test
  void plaintextIsRefusedOnAnythingButLoopback() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ManagerTls.prepare(TlsPolicy.insecure(dir), "0.0.0.0", Clock.systemUTC()));
    assertTrue(
        e.getMessage().startsWith("tls.insecure: plaintext is only allowed on a loopback address"),
        e.getMessage());
    assertEquals(
        Optional.empty(),
        ManagerTls.prepare(TlsPolicy.insecure(dir), "127.0.0.1", Clock.systemUTC()));
  }
}
