package io.opsscaffold.daemon.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.StreamObserver;
import io.helidon.common.tls.Tls;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.grpc.GrpcRouting;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.LinkProto;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.Welcome;
import io.opsscaffold.security.CertificateAuthority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's channel to a manager over real TLS: by CA file, by pinned fingerprint, never to a
 * stranger.
 */
class ManagerChannelsTest {
  @TempDir Path dir;
  private CertificateAuthority ca;
  private WebServer manager;

  @BeforeEach
  void start() throws Exception {
    start(0);
  }

  private void start(int port) throws Exception {
    ca = CertificateAuthority.loadOrCreate(dir.resolve("manager-tls"), Clock.systemUTC());
    CertificateAuthority.Issued server =
        ca.issueServer("ops-manager", List.of("127.0.0.1"), Duration.ofDays(1));
    manager =
        WebServer.builder()
            .host("127.0.0.1")
            .port(port)
            .useNio(false) // as the manager: Helidon applies no SSL parameters to these sockets
            .tls(
                Tls.builder()
                    .sslContext(
                        io.opsscaffold.security.ClientCertificateRequest.wrap(
                            io.opsscaffold.security.TlsContexts.create(
                                java.util.Optional.of(server), List.of(ca.certificate()))))
                    .clientAuth(io.helidon.common.tls.TlsClientAuth.OPTIONAL)
                    .build())
            .addRouting(
                GrpcRouting.builder()
                    .service(
                        LinkProto.getDescriptor(),
                        new DaemonLinkServiceGrpc.DaemonLinkServiceImplBase() {
                          @Override
                          public StreamObserver<DaemonMessage> connect(
                              StreamObserver<ManagerMessage> out) {
                            String peer =
                                io.helidon.webserver.grpc.ServerContextKeys.CONNECTION_CONTEXT
                                    .get()
                                    .remotePeer()
                                    .tlsCertificates()
                                    .map(
                                        c ->
                                            ((java.security.cert.X509Certificate) c[0])
                                                .getSubjectX500Principal()
                                                .getName())
                                    .orElse("anonymous");
                            return new StreamObserver<>() {
                              @Override
                              public void onNext(DaemonMessage m) {
                                out.onNext(
                                    ManagerMessage.newBuilder()
                                        .setWelcome(
                                            Welcome.newBuilder()
                                                .setSessionId(
                                                    "hello "
                                                        + m.getHello().getNodeId()
                                                        + " "
                                                        + peer))
                                        .build());
                              }

                              @Override
                              public void onError(Throwable t) {}

                              @Override
                              public void onCompleted() {
                                out.onCompleted();
                              }
                            };
                          }
                        }))
            .build()
            .start();
  }

  @AfterEach
  void stop() {
    manager.stop();
  }

  private LinkPolicy policy(ManagerTrust trust) {
    return policy("127.0.0.1:" + manager.port(), trust);
  }

  private LinkPolicy policy(String address, ManagerTrust trust) {
    return new LinkPolicy(
        address,
        Duration.ofSeconds(1),
        Duration.ofSeconds(8),
        Duration.ofSeconds(10),
        Duration.ZERO,
        Duration.ofHours(1),
        trust);
  }

  /** Channels with a node certificate issued by the test's CA, as enrollment leaves it. */
  private ManagerChannels channels(ManagerTrust trust) throws Exception {
    return channels("127.0.0.1:" + manager.port(), trust);
  }

  private ManagerChannels channels(String address, ManagerTrust trust) throws Exception {
    Path tls = dir.resolve("daemon").resolve("tls");
    java.security.KeyPair pair = CertificateAuthority.newKeyPair();
    java.security.cert.X509Certificate cert =
        ca.issueNode(
            io.opsscaffold.security.CertificateRequests.create(pair, "n1"),
            "n1",
            Duration.ofDays(1));
    Files.createDirectories(tls);
    Files.writeString(
        tls.resolve("node.pem"), io.opsscaffold.security.Pem.encode(pair.getPrivate(), cert));
    return new ManagerChannels(
        policy(address, trust),
        new NodeCredentials(tls, "n1", Clock.systemUTC()),
        java.util.Optional.empty());
  }

  /** Says Hello on a new stream and returns the Welcome's session id. */
  private static String hello(ChannelSource source) throws Exception {
    CompletableFuture<String> welcome = new CompletableFuture<>();
    StreamObserver<DaemonMessage> out =
        DaemonLinkServiceGrpc.newStub(source.channel())
            .connect(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ManagerMessage m) {
                    welcome.complete(m.getWelcome().getSessionId());
                  }

                  @Override
                  public void onError(Throwable t) {
                    welcome.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    out.onNext(DaemonMessage.newBuilder().setHello(Hello.newBuilder().setNodeId("n1")).build());
    try {
      return welcome.get(10, TimeUnit.SECONDS);
    } finally {
      out.onCompleted();
    }
  }

  @Test
  void aManagerThatComesBackIsReachedAtOnceWhateverTheChannelsOwnBackoff() throws Exception {
    try (ManagerChannels channels =
        channels(new ManagerTrust.CaFile(dir.resolve("manager-tls").resolve("ca.crt")))) {
      assertEquals("hello n1 CN=n1,OU=node,O=Ops Scaffold", hello(channels));
      int port = manager.port();
      manager.stop();
      io.grpc.ManagedChannel channel = (io.grpc.ManagedChannel) channels.channel();
      assertThrows(ExecutionException.class, () -> hello(channels), "nobody listens");
      // gRPC's channel now waits a backoff of its own (1 s, growing to 2 minutes) before it
      // connects again, failing every call at once meanwhile.
      io.opsscaffold.testing.Await.until(
          Duration.ofSeconds(10),
          "the channel to back off",
          () -> channel.getState(false),
          s -> s == io.grpc.ConnectivityState.TRANSIENT_FAILURE);
      start(port);
      assertEquals(
          "hello n1 CN=n1,OU=node,O=Ops Scaffold",
          hello(channels),
          "the link's own backoff decides when to try; the channel's is reset");
    }
  }

  @Test
  void withSeveralManagersAFailedAttemptGoesToTheNextOne() throws Exception {
    int dead;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    String live = "127.0.0.1:" + manager.port();
    try (ManagerChannels channels =
        channels(
            "127.0.0.1:" + dead + ", " + live,
            new ManagerTrust.CaFile(dir.resolve("manager-tls").resolve("ca.crt")))) {
      if (!channels.target().equals(live)) {
        assertEquals("127.0.0.1:" + dead, channels.target());
        assertThrows(ExecutionException.class, () -> hello(channels), "nobody listens");
        channels.failed();
      }
      assertEquals(live, channels.target());
      assertEquals("hello n1 CN=n1,OU=node,O=Ops Scaffold", hello(channels));
      channels.failed(); // its stream ended: the next attempt tries the other manager
      assertEquals("127.0.0.1:" + dead, channels.target());
      channels.failed();
      assertEquals(live, channels.target(), "round and round the list");
      assertEquals("hello n1 CN=n1,OU=node,O=Ops Scaffold", hello(channels));
    }
  }

  @Test
  void withOneManagerAFailedAttemptKeepsIt() throws Exception {
    try (ManagerChannels channels =
        channels(new ManagerTrust.CaFile(dir.resolve("manager-tls").resolve("ca.crt")))) {
      String only = channels.target();
      channels.failed();
      assertEquals(only, channels.target());
      assertEquals("hello n1 CN=n1,OU=node,O=Ops Scaffold", hello(channels));
    }
  }

  @Test
  void aDaemonWithTheManagersCaFileTalksToIt() throws Exception {
    try (ManagerChannels channels =
        channels(new ManagerTrust.CaFile(dir.resolve("manager-tls").resolve("ca.crt")))) {
      assertEquals("hello n1 CN=n1,OU=node,O=Ops Scaffold", hello(channels));
    }
  }

  @Test
  void aPinnedFingerprintFetchesTheCaOnceAndKeepsIt() throws Exception {
    Path store = dir.resolve("daemon").resolve("tls").resolve("manager-ca.crt");
    try (ManagerChannels channels = channels(new ManagerTrust.Pinned(ca.fingerprint(), store))) {
      assertEquals("hello n1 CN=n1,OU=node,O=Ops Scaffold", hello(channels));
    }
    assertTrue(Files.exists(store), "the CA is kept for the next start");
    manager.stop();
    start(); // the manager restarts with its CA; the daemon's next start uses the CA it kept
    try (ManagerChannels channels =
        channels(
            new ManagerTrust.Pinned(
                CertificateAuthority.loadOrCreate(dir.resolve("manager-tls"), Clock.systemUTC())
                    .fingerprint(),
                store))) {
      assertEquals("hello n1 CN=n1,OU=node,O=Ops Scaffold", hello(channels));
    }
  }

  @Test
  void aManagerWithAnotherCaIsRefused() throws Exception {
    Path store = dir.resolve("daemon").resolve("manager-ca.crt");
    String other =
        CertificateAuthority.loadOrCreate(dir.resolve("other"), Clock.systemUTC()).fingerprint();
    try (ManagerChannels channels = channels(new ManagerTrust.Pinned(other, store))) {
      SecurityException e = assertThrows(SecurityException.class, channels::channel);
      assertTrue(e.getMessage().contains("none of them the pinned CA " + other), e.getMessage());
    }
    assertFalse(Files.exists(store), "nothing is kept from a manager that was refused");
    try (ManagerChannels channels =
        channels(new ManagerTrust.CaFile(dir.resolve("other").resolve("ca.crt")))) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> hello(channels));
      assertTrue(
          String.valueOf(e.getCause()).contains("UNAVAILABLE"), String.valueOf(e.getCause()));
    }
  }
}
