package io.opsscaffold.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real TLS handshakes on loopback with the certificates the CA issues. */
class TlsHandshakeTest {
  @TempDir Path dir;
  private SSLServerSocket server;
  private final CompletableFuture<String> clientSeen = new CompletableFuture<>();

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  /**
   * A server presenting {@code identity}, requiring client certificates from {@code clients} when
   * given.
   */
  private int serve(CertificateAuthority.Issued identity, Optional<X509Certificate> clients)
      throws IOException {
    SSLContext ctx =
        TlsContexts.create(Optional.of(identity), clients.map(List::of).orElse(List.of()));
    server =
        (SSLServerSocket)
            ctx.getServerSocketFactory()
                .createServerSocket(0, 5, java.net.InetAddress.getLoopbackAddress());
    server.setNeedClientAuth(clients.isPresent());
    Thread.ofVirtual()
        .start(
            () -> {
              while (!server.isClosed()) {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                  s.startHandshake();
                  clientSeen.complete(
                      clients.isPresent()
                          ? ((X509Certificate) s.getSession().getPeerCertificates()[0])
                              .getSubjectX500Principal()
                              .getName()
                          : "anonymous");
                  s.getOutputStream().write(1);
                } catch (IOException e) {
                  // a refused handshake: the next client may do better
                }
              }
            });
    return server.getLocalPort();
  }

  private static int connect(SSLContext ctx, int port) throws IOException {
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      var params = s.getSSLParameters();
      params.setEndpointIdentificationAlgorithm(
          "HTTPS"); // the host name is checked against the SANs
      s.setSSLParameters(params);
      s.startHandshake();
      return s.getInputStream().read();
    }
  }

  @Test
  void aClientTrustingTheCaConnectsAndOneTrustingAnotherCaIsRefused() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(dir.resolve("ca"), Clock.systemUTC());
    int port =
        serve(
            ca.issueServer("ops-manager", List.of("127.0.0.1"), Duration.ofDays(1)),
            Optional.empty());
    assertEquals(1, connect(TlsContexts.create(Optional.empty(), List.of(ca.certificate())), port));
    CertificateAuthority other =
        CertificateAuthority.loadOrCreate(dir.resolve("other"), Clock.systemUTC());
    assertThrows(
        SSLHandshakeException.class,
        () -> connect(TlsContexts.create(Optional.empty(), List.of(other.certificate())), port));
  }

  @Test
  void aServerCertificateForAnotherNameIsRefused() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(dir.resolve("ca"), Clock.systemUTC());
    int port =
        serve(
            ca.issueServer("ops-manager", List.of("elsewhere.example"), Duration.ofDays(1)),
            Optional.empty());
    assertThrows(
        SSLHandshakeException.class,
        () -> connect(TlsContexts.create(Optional.empty(), List.of(ca.certificate())), port));
  }

  @Test
  void mutualTlsNamesTheNodeAndRefusesAClientWithoutACertificate() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(dir.resolve("ca"), Clock.systemUTC());
    int port =
        serve(
            ca.issueServer("ops-manager", List.of("127.0.0.1"), Duration.ofDays(1)),
            Optional.of(ca.certificate()));
    KeyPair key = CertificateAuthority.newKeyPair();
    X509Certificate node =
        ca.issueNode(CertificateRequests.create(key, "n1"), "n1", Duration.ofDays(1));
    SSLContext withCert =
        TlsContexts.create(
            Optional.of(
                new CertificateAuthority.Issued(key.getPrivate(), List.of(node, ca.certificate()))),
            List.of(ca.certificate()));
    assertEquals(1, connect(withCert, port));
    assertEquals("CN=n1,OU=node,O=Ops Scaffold", clientSeen.get(5, TimeUnit.SECONDS));
    SSLContext without = TlsContexts.create(Optional.empty(), List.of(ca.certificate()));
    assertThrows(IOException.class, () -> connect(without, port));
  }

  @Test
  void aPinnedFingerprintFetchesTheCaAndAWrongOneIsRefused() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(dir.resolve("ca"), Clock.systemUTC());
    int port =
        serve(
            ca.issueServer("ops-manager", List.of("127.0.0.1"), Duration.ofDays(1)),
            Optional.empty());
    X509Certificate fetched =
        PinnedCa.fetch("127.0.0.1", port, ca.fingerprint(), Duration.ofSeconds(5));
    assertEquals(ca.certificate(), fetched);
    String wrong = "sha256:" + "0".repeat(64);
    SecurityException e =
        assertThrows(
            SecurityException.class,
            () -> PinnedCa.fetch("127.0.0.1", port, wrong, Duration.ofSeconds(5)));
    assertTrue(e.getMessage().contains("none of them the pinned CA " + wrong), e.getMessage());
    assertTrue(e.getMessage().contains(ca.fingerprint()), "names what the manager presented");
  }

  @Test
  void theServerCertificateIsKeptUntilItMustBeRenewed() throws Exception {
    CertificateAuthority ca =
        CertificateAuthority.loadOrCreate(dir.resolve("ca"), Clock.systemUTC());
    List<String> names = ServerCredentials.hostNames(List.of("manager.example"));
    var first =
        ServerCredentials.ensure(
            dir.resolve("ca"),
            ca,
            names,
            Duration.ofDays(365),
            Duration.ofDays(30),
            Clock.systemUTC());
    var again =
        ServerCredentials.ensure(
            dir.resolve("ca"),
            ca,
            names,
            Duration.ofDays(365),
            Duration.ofDays(30),
            Clock.systemUTC());
    assertEquals(first.certificate(), again.certificate(), "kept across restarts");
    var moreNames =
        ServerCredentials.ensure(
            dir.resolve("ca"),
            ca,
            ServerCredentials.hostNames(List.of("manager.example", "other.example")),
            Duration.ofDays(365),
            Duration.ofDays(30),
            Clock.systemUTC());
    assertTrue(
        ServerCredentials.sans(moreNames.certificate()).contains("other.example"),
        "a new name: a new certificate");
    var late =
        ServerCredentials.ensure(
            dir.resolve("ca"),
            ca,
            ServerCredentials.hostNames(List.of("manager.example", "other.example")),
            Duration.ofDays(365),
            Duration.ofDays(30),
            Clock.offset(Clock.systemUTC(), Duration.ofDays(340)));
    assertTrue(
        !late.certificate().equals(moreNames.certificate()), "renewed 30 days before it expires");
  }
}
