package io.opsscaffold.manager.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.Durations;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.opsscaffold.api.admin.v1.AdminServiceGrpc;
import io.opsscaffold.api.admin.v1.CreateEnrollmentTokenRequest;
import io.opsscaffold.api.admin.v1.CreateEnrollmentTokenResponse;
import io.opsscaffold.api.admin.v1.EnrollRequest;
import io.opsscaffold.api.admin.v1.EnrollResponse;
import io.opsscaffold.api.admin.v1.EnrollmentLabels;
import io.opsscaffold.api.admin.v1.EnrollmentServiceGrpc;
import io.opsscaffold.api.admin.v1.ListNodeCredentialsRequest;
import io.opsscaffold.api.admin.v1.RevokeEnrollmentTokenRequest;
import io.opsscaffold.api.admin.v1.RevokeNodeRequest;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.api.fleet.v1.ListNodesRequest;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.api.link.v1.Ping;
import io.opsscaffold.api.link.v1.RenewCertificate;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.manager.tls.TlsPolicy;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.security.CertificateAuthority;
import io.opsscaffold.security.CertificateRequests;
import io.opsscaffold.security.Pem;
import io.opsscaffold.security.TlsContexts;
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node identity end to end on PostgreSQL over real mutual TLS: enrollment tokens turned into client
 * certificates, a stream accepted only for the node its certificate names, refusals that change
 * nothing, revocation that cuts a node off for good, renewal over the link.
 */
class NodeIdentityIT {
  @TempDir Path dir;
  private TestDatabases.Created pg;
  private Telemetry telemetry;
  private ManagerApp manager;
  private X509Certificate ca;
  private String adminToken;
  private final java.util.List<ManagedChannel> channels = new java.util.ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    pg = TestDatabases.postgres();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    startManager();
    Path tokenFile = dir.resolve("data").resolve("admin.token");
    assertEquals(
        PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(tokenFile),
        "the bootstrap admin token is readable by the manager's user only");
    adminToken = Files.readString(tokenFile).strip();
  }

  private void startManager() throws Exception {
    startManager(Optional.empty());
  }

  private void startManager(Optional<Path> tokenFile) throws Exception {
    Files.createDirectories(dir.resolve("data"));
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                pg.settings(dir.resolve("data")),
                Duration.ofSeconds(5),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Optional.empty(),
                Duration.ofSeconds(1),
                Optional.empty(),
                new TlsPolicy(
                    false,
                    dir.resolve("tls"),
                    Optional.empty(),
                    Optional.empty(),
                    List.of(),
                    Duration.ofDays(30),
                    Duration.ofDays(7),
                    tokenFile,
                    Optional.empty())),
            telemetry);
    ca = manager.caCertificate().orElseThrow();
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    if (manager != null) {
      manager.close();
    }
    telemetry.close();
    pg.close();
  }

  /** A channel that trusts the manager's CA and presents {@code identity} when given. */
  private ManagedChannel channel(Optional<CertificateAuthority.Issued> identity) throws Exception {
    var ssl = GrpcSslContexts.forClient().trustManager(ca);
    identity.ifPresent(id -> ssl.keyManager(id.key(), id.chain().toArray(X509Certificate[]::new)));
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).sslContext(ssl.build()).build();
    channels.add(ch);
    return ch;
  }

  private static io.grpc.ClientInterceptor bearer(String token) {
    Metadata h = new Metadata();
    h.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return MetadataUtils.newAttachHeadersInterceptor(h);
  }

  private AdminServiceGrpc.AdminServiceBlockingStub admin() throws Exception {
    Metadata h = new Metadata();
    h.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + adminToken);
    return AdminServiceGrpc.newBlockingStub(channel(Optional.empty()))
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
        .withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private CreateEnrollmentTokenResponse token(CreateEnrollmentTokenRequest.Builder req)
      throws Exception {
    return admin().createEnrollmentToken(req.build());
  }

  /** Enrolls {@code nodeId} with {@code token}; returns its key and certificate. */
  private CertificateAuthority.Issued enroll(String token, String nodeId) throws Exception {
    KeyPair pair = CertificateAuthority.newKeyPair();
    EnrollResponse r =
        EnrollmentServiceGrpc.newBlockingStub(channel(Optional.empty()))
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .enroll(
                EnrollRequest.newBuilder()
                    .setToken(token)
                    .setNodeId(nodeId)
                    .setCsrPem(Pem.encode(CertificateRequests.create(pair, "whatever-it-asks")))
                    .build());
    assertEquals(Pem.encode(ca), r.getCaPem());
    return new CertificateAuthority.Issued(
        pair.getPrivate(), Pem.certificates(r.getCertificatePem()));
  }

  private StatusRuntimeException enrollFails(String token, String nodeId) {
    return assertThrows(StatusRuntimeException.class, () -> enroll(token, nodeId));
  }

  /** Opens a stream presenting {@code identity} that says Hello as {@code nodeId}. */
  private FakeDaemon stream(Optional<CertificateAuthority.Issued> identity, String nodeId)
      throws Exception {
    FakeDaemon d =
        new FakeDaemon(
            channel(identity),
            Hello.newBuilder()
                .setNodeId(nodeId)
                .setHostname("h-" + nodeId)
                .setLabels(NodeLabels.newBuilder().setArea("claimed-area")));
    d.send(DaemonMessage.newBuilder().setHello(Hello.newBuilder().setNodeId(nodeId)));
    return d;
  }

  private FakeDaemon connected(CertificateAuthority.Issued identity, String nodeId)
      throws Exception {
    FakeDaemon d =
        new FakeDaemon(
                channel(Optional.of(identity)),
                Hello.newBuilder()
                    .setNodeId(nodeId)
                    .setHostname("h-" + nodeId)
                    .setLabels(NodeLabels.newBuilder().setArea("claimed-area")))
            .hello();
    d.keepAlive();
    return d;
  }

  private static Status refusal(FakeDaemon d) throws Exception {
    return d.ended.get(10, TimeUnit.SECONDS);
  }

  private List<String> nodeIds() {
    ManagedChannel ch;
    try {
      ch = channel(Optional.empty());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return FleetServiceGrpc.newBlockingStub(ch)
        .withInterceptors(bearer(adminToken))
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .listNodes(ListNodesRequest.newBuilder().setPageSize(100).build())
        .getNodesList()
        .stream()
        .map(n -> n.getNodeId())
        .toList();
  }

  @Test
  void anEnrolledNodeStreamsAsItselfAndNothingElseCreatesRows() throws Exception {
    CreateEnrollmentTokenResponse t =
        token(
            CreateEnrollmentTokenRequest.newBuilder()
                .setDescription("east rack 1")
                .setLabels(EnrollmentLabels.newBuilder().setArea("east")));
    assertTrue(
        t.getJoinToken().startsWith("OPS1." + t.getCaFingerprint().substring(7) + "."),
        "the join token carries the CA fingerprint");
    CertificateAuthority.Issued n1 = enroll(t.getSecret(), "n1");
    assertEquals(
        "CN=n1,OU=node,O=Ops Scaffold",
        n1.certificate().getSubjectX500Principal().getName(),
        "the manager names the node, whatever the request asked for");

    FakeDaemon d = connected(n1, "n1");
    var node =
        Await.until(
            Duration.ofSeconds(10),
            "n1 listed",
            () -> {
              try {
                return Optional.of(
                    FleetServiceGrpc.newBlockingStub(channel(Optional.empty()))
                        .withInterceptors(bearer(adminToken))
                        .getNode(GetNodeRequest.newBuilder().setNodeId("n1").build()));
              } catch (Exception e) {
                return Optional.<io.opsscaffold.api.fleet.v1.Node>empty();
              }
            },
            Optional::isPresent);
    assertEquals("east", node.get().getArea(), "the token's area overrides what the daemon claims");

    // The same certificate claiming another node, no certificate, a certificate of another CA.
    Status other = refusal(stream(Optional.of(n1), "n2"));
    assertEquals(Status.Code.PERMISSION_DENIED, other.getCode(), other.toString());
    assertTrue(other.getDescription().contains("node n1's"), other.getDescription());
    Status none = refusal(stream(Optional.empty(), "n3"));
    assertEquals(Status.Code.PERMISSION_DENIED, none.getCode(), none.toString());
    CertificateAuthority stranger =
        CertificateAuthority.loadOrCreate(dir.resolve("stranger"), Clock.systemUTC());
    KeyPair pair = CertificateAuthority.newKeyPair();
    CertificateAuthority.Issued forged =
        new CertificateAuthority.Issued(
            pair.getPrivate(),
            List.of(
                stranger.issueNode(
                    CertificateRequests.create(pair, "n1"), "n1", Duration.ofDays(1))));
    FakeDaemon f = stream(Optional.of(forged), "n1");
    Status forgedEnd = refusal(f);
    assertFalse(forgedEnd.isOk(), "a certificate of another CA is refused: " + forgedEnd);

    assertEquals(List.of("n1"), nodeIds(), "refused streams created no rows");
    d.send(DaemonMessage.newBuilder().setPing(Ping.getDefaultInstance()));
    assertFalse(d.ended.isDone(), "the real n1 was not disturbed: " + d.ended.getNow(null));
    // An expired certificate of the right CA: the handshake refuses it.
    CertificateAuthority ours =
        CertificateAuthority.loadOrCreate(
            dir.resolve("tls"), Clock.offset(Clock.systemUTC(), Duration.ofDays(-30)));
    KeyPair old = CertificateAuthority.newKeyPair();
    CertificateAuthority.Issued expired =
        new CertificateAuthority.Issued(
            old.getPrivate(),
            List.of(
                ours.issueNode(CertificateRequests.create(old, "n1"), "n1", Duration.ofDays(1))));
    assertFalse(refusal(stream(Optional.of(expired), "n1")).isOk(), "an expired certificate");
    d.send(DaemonMessage.newBuilder().setPing(Ping.getDefaultInstance()));
    assertFalse(d.ended.isDone(), "n1's live stream survives a stale copy of its identity");
  }

  @Test
  void aTokenFileIsWrittenOnceForDaemonsThatShareIt() throws Exception {
    Path file = dir.resolve("shared").resolve("join-token");
    manager.close();
    startManager(Optional.of(file));
    assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
    String join = Files.readString(file).strip();
    assertTrue(join.startsWith("OPS1."), "it carries the CA fingerprint");
    enroll(join, "f1");
    enroll(join, "f2"); // any number of daemons share it
    manager.close();
    startManager(Optional.of(file));
    assertEquals(join, Files.readString(file).strip(), "an existing file is kept");
  }

  @Test
  void enrollmentRefusalsSayWhy() throws Exception {
    CreateEnrollmentTokenResponse once =
        token(CreateEnrollmentTokenRequest.newBuilder().setMaxUses(1));
    enroll(once.getSecret(), "a1");
    StatusRuntimeException usedUp = enrollFails(once.getSecret(), "a2");
    assertEquals(Status.Code.UNAUTHENTICATED, usedUp.getStatus().getCode());
    assertTrue(usedUp.getStatus().getDescription().contains("used up"), usedUp.toString());

    CreateEnrollmentTokenResponse revoked = token(CreateEnrollmentTokenRequest.newBuilder());
    admin()
        .revokeEnrollmentToken(
            RevokeEnrollmentTokenRequest.newBuilder()
                .setTokenId(revoked.getToken().getTokenId())
                .build());
    StatusRuntimeException r = enrollFails(revoked.getSecret(), "a3");
    assertTrue(r.getStatus().getDescription().contains("was revoked"), r.toString());

    CreateEnrollmentTokenResponse shortLived =
        token(CreateEnrollmentTokenRequest.newBuilder().setTtl(Durations.fromMillis(1)));
    StatusRuntimeException expired =
        Await.until(
            Duration.ofSeconds(10),
            "the 1 ms token to expire",
            () -> enrollFails(shortLived.getSecret(), "a4"),
            e -> e.getStatus().getDescription().contains("has expired"));
    assertEquals(Status.Code.UNAUTHENTICATED, expired.getStatus().getCode());

    StatusRuntimeException malformed = enrollFails("not-a-token", "a5");
    assertEquals(Status.Code.INVALID_ARGUMENT, malformed.getStatus().getCode());
    assertTrue(malformed.getStatus().getDescription().startsWith("token:"), malformed.toString());
    assertFalse(malformed.getStatus().getDescription().contains("not-a-token"), "no echo");

    String guessed = once.getToken().getTokenId() + "." + "x".repeat(43);
    StatusRuntimeException wrongSecret = enrollFails(guessed, "a6");
    assertEquals(Status.Code.UNAUTHENTICATED, wrongSecret.getStatus().getCode());
    assertTrue(
        wrongSecret.getStatus().getDescription().contains("not known"), wrongSecret.toString());

    CreateEnrollmentTokenResponse many = token(CreateEnrollmentTokenRequest.newBuilder());
    StatusRuntimeException again = enrollFails(many.getSecret(), "a1");
    assertEquals(Status.Code.ABORTED, again.getStatus().getCode(), again.toString());
    assertTrue(again.getStatus().getDescription().contains("already enrolled"), again.toString());

    assertEquals(
        List.of("a1"),
        admin()
            .listNodeCredentials(ListNodeCredentialsRequest.getDefaultInstance())
            .getNodesList()
            .stream()
            .map(n -> n.getNodeId())
            .toList(),
        "only the one successful enrollment left a credential");
  }

  @Test
  void adminCallsNeedAnAdminsToken() throws Exception {
    StatusRuntimeException anonymous =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                AdminServiceGrpc.newBlockingStub(channel(Optional.empty()))
                    .createEnrollmentToken(CreateEnrollmentTokenRequest.getDefaultInstance()));
    assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode());
    HttpClient https =
        HttpClient.newBuilder()
            .sslContext(TlsContexts.create(Optional.empty(), List.of(ca)))
            .build();
    URI tokens = URI.create("https://127.0.0.1:" + manager.port() + "/api/v1/enrollment-tokens");
    HttpResponse<String> bogus =
        https.send(
            HttpRequest.newBuilder(tokens)
                .header("Authorization", "Bearer abcdefghij." + "y".repeat(43))
                .POST(HttpRequest.BodyPublishers.ofString("{}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(401, bogus.statusCode(), bogus.body());
    assertFalse(bogus.body().contains("y".repeat(43)), "the secret is not echoed");
    HttpResponse<String> ok =
        https.send(
            HttpRequest.newBuilder(tokens)
                .header("Authorization", "Bearer " + adminToken)
                .POST(
                    HttpRequest.BodyPublishers.ofString("{\"description\":\"http\",\"maxUses\":3}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, ok.statusCode(), ok.body());
    assertTrue(ok.body().contains("\"joinToken\""), ok.body());
  }

  @Test
  void aRevokedNodeIsCutOffAtOnceAndForEvenAfterARestart() throws Exception {
    CreateEnrollmentTokenResponse t = token(CreateEnrollmentTokenRequest.newBuilder());
    CertificateAuthority.Issued r1 = enroll(t.getSecret(), "r1");
    CertificateAuthority.Issued r2 = enroll(t.getSecret(), "r2");
    FakeDaemon one = connected(r1, "r1");
    FakeDaemon two = connected(r2, "r2");
    Await.until(Duration.ofSeconds(10), "both listed", this::nodeIds, ids -> ids.size() == 2);

    long began = System.nanoTime();
    admin().revokeNode(RevokeNodeRequest.newBuilder().setNodeId("r1").setReason("stolen").build());
    Status cut = one.ended.get(1, TimeUnit.SECONDS);
    System.out.printf(
        "drill revoke: stream closed %d ms after the call%n",
        (System.nanoTime() - began) / 1_000_000);
    assertEquals(Status.Code.PERMISSION_DENIED, cut.getCode(), cut.toString());
    Await.until(
        Duration.ofSeconds(10),
        "r1 gone from listings",
        this::nodeIds,
        ids -> ids.equals(List.of("r2")));
    assertFalse(two.ended.isDone(), "other nodes keep streaming");

    Status again = refusal(stream(Optional.of(r1), "r1"));
    assertEquals(Status.Code.PERMISSION_DENIED, again.getCode());
    assertTrue(again.getDescription().contains("revoked"), again.toString());

    manager.close();
    manager = null;
    startManager();
    Status afterRestart = refusal(stream(Optional.of(r1), "r1"));
    assertEquals(Status.Code.PERMISSION_DENIED, afterRestart.getCode(), afterRestart.toString());
    assertFalse(nodeIds().contains("r1"), "a revoked node stays out of the fleet");
    StatusRuntimeException reenroll = enrollFails(t.getSecret(), "r1");
    assertEquals(Status.Code.ABORTED, reenroll.getStatus().getCode(), "replace needs an admin");

    // An admin enrolls the host again on purpose: the new certificate works, the old stays out.
    Metadata h = new Metadata();
    h.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + adminToken);
    KeyPair pair = CertificateAuthority.newKeyPair();
    EnrollResponse replaced =
        EnrollmentServiceGrpc.newBlockingStub(channel(Optional.empty()))
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
            .enroll(
                EnrollRequest.newBuilder()
                    .setToken(t.getSecret())
                    .setNodeId("r1")
                    .setCsrPem(Pem.encode(CertificateRequests.create(pair, "r1")))
                    .setReplace(true)
                    .build());
    connected(
        new CertificateAuthority.Issued(
            pair.getPrivate(), Pem.certificates(replaced.getCertificatePem())),
        "r1");
    Status old = refusal(stream(Optional.of(r1), "r1"));
    assertTrue(old.getDescription().contains("replaced by a newer enrollment"), old.toString());
  }

  @Test
  void aNodeRenewsItsCertificateOverItsStreamWithoutDroppingIt() throws Exception {
    CreateEnrollmentTokenResponse t = token(CreateEnrollmentTokenRequest.newBuilder());
    CertificateAuthority.Issued first = enroll(t.getSecret(), "w1");
    FakeDaemon d = connected(first, "w1");
    KeyPair next = CertificateAuthority.newKeyPair();
    d.send(
        DaemonMessage.newBuilder()
            .setRenewCertificate(
                RenewCertificate.newBuilder()
                    .setCsrPem(Pem.encode(CertificateRequests.create(next, "w1")))));
    ManagerMessage answer;
    do {
      answer = d.received.poll(10, TimeUnit.SECONDS);
    } while (answer != null && answer.getBodyCase() != ManagerMessage.BodyCase.CERTIFICATE);
    assertTrue(answer != null, "the manager answered the renewal");
    assertEquals("", answer.getCertificate().getError());
    X509Certificate renewed = Pem.certificates(answer.getCertificate().getCertificatePem()).get(0);
    assertEquals(next.getPublic(), renewed.getPublicKey());
    assertFalse(d.ended.isDone(), "the stream stays up");

    // The renewed certificate opens the next stream, which replaces the first as usual.
    FakeDaemon second =
        connected(new CertificateAuthority.Issued(next.getPrivate(), List.of(renewed)), "w1");
    assertEquals(Status.Code.ABORTED, d.ended.get(10, TimeUnit.SECONDS).getCode());
    assertFalse(second.ended.isDone());
  }

  @Test
  void aDeletedNodeLeavesTheFleetAndItsIdMayEnrollAgain() throws Exception {
    CreateEnrollmentTokenResponse t = token(CreateEnrollmentTokenRequest.newBuilder());
    CertificateAuthority.Issued gone = enroll(t.getSecret(), "d1");
    FakeDaemon d = connected(gone, "d1");
    Await.until(Duration.ofSeconds(10), "d1 listed", this::nodeIds, ids -> ids.contains("d1"));
    var deleted =
        admin()
            .deleteNode(
                io.opsscaffold.api.admin.v1.DeleteNodeRequest.newBuilder().setNodeId("d1").build());
    assertTrue(deleted.getDisconnected(), "its live stream was closed");
    assertEquals(Status.Code.PERMISSION_DENIED, d.ended.get(5, TimeUnit.SECONDS).getCode());
    Await.until(
        Duration.ofSeconds(10), "d1 gone from listings", this::nodeIds, ids -> !ids.contains("d1"));
    assertTrue(
        admin()
            .listNodeCredentials(ListNodeCredentialsRequest.getDefaultInstance())
            .getNodesList()
            .stream()
            .noneMatch(n -> n.getNodeId().equals("d1")),
        "its enrollment is forgotten");
    Status old = refusal(stream(Optional.of(gone), "d1"));
    assertEquals(Status.Code.PERMISSION_DENIED, old.getCode(), "its old certificate is refused");
    CertificateAuthority.Issued again = enroll(t.getSecret(), "d1"); // no replace needed
    connected(again, "d1");
    StatusRuntimeException unknown =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                admin()
                    .deleteNode(
                        io.opsscaffold.api.admin.v1.DeleteNodeRequest.newBuilder()
                            .setNodeId("never-seen")
                            .build()));
    assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
  }
}
