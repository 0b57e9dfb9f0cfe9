package io.opsscaffold.daemon.link;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.admin.v1.EnrollRequest;
import io.opsscaffold.api.admin.v1.EnrollResponse;
import io.opsscaffold.api.admin.v1.EnrollmentServiceGrpc;
import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.security.CertificateAuthority;
import io.opsscaffold.security.CertificateRequests;
import io.opsscaffold.security.JoinToken;
import io.opsscaffold.security.Pem;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The node's own key and client certificate: made once by enrolling with a token (the key is
 * generated here and never leaves the host), kept in {@code <data-dir>/tls/node.pem} (0600, key and
 * certificate in one file so that a renewal replaces both at once; {@code node.crt} beside it is a
 * copy for people), and renewed over the link when two thirds of its life have passed. The TLS
 * layer reads the current pair through {@link #keyManager}, so a renewal applies to the next
 * connection without rebuilding the channel and without touching the current stream. Thread-safe.
 */
public final class NodeCredentials {
  private static final Logger LOG = Logger.getLogger(NodeCredentials.class.getName());
  private static final String ALIAS = "node";

  /** A renewal request unanswered for this long is sent again. */
  private static final long RETRY_RENEWAL_MS = 30_000;

  private final Path dir;
  private final String nodeId;
  private final Clock clock;
  private final AtomicReference<CertificateAuthority.Issued> current = new AtomicReference<>();
  private volatile KeyPair pending;
  private volatile long pendingSinceMs;

  /** The node this daemon is. */
  public String nodeId() {
    return nodeId;
  }

  public NodeCredentials(Path dir, String nodeId, Clock clock) {
    this.dir = dir;
    this.nodeId = nodeId;
    this.clock = clock;
  }

  Path file() {
    return dir.resolve("node.pem");
  }

  /**
   * Reads the kept key and certificate; false when there are none (not enrolled yet).
   *
   * @throws IOException when the file exists but cannot be read or holds no key and certificate
   */
  public boolean load() throws IOException {
    if (!Files.exists(file())) {
      return false;
    }
    String pem = Files.readString(file());
    try {
      current.set(new CertificateAuthority.Issued(Pem.privateKey(pem), Pem.certificates(pem)));
    } catch (IllegalArgumentException e) {
      throw new IOException(file() + " holds no usable key and certificate: " + e.getMessage(), e);
    }
    return true;
  }

  public boolean enrolled() {
    return current.get() != null;
  }

  /** The current certificate, if enrolled. */
  public Optional<X509Certificate> certificate() {
    return Optional.ofNullable(current.get()).map(CertificateAuthority.Issued::certificate);
  }

  /**
   * Enrolls with {@code token} over {@code channel} (TLS that authenticates the manager).
   *
   * @throws IOException when the manager cannot be reached (retry later)
   * @throws SecurityException when the manager refuses the token; the message says why
   */
  public void enroll(Channel channel, JoinToken token) throws IOException {
    KeyPair pair = CertificateAuthority.newKeyPair();
    EnrollResponse answer;
    try {
      answer =
          EnrollmentServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(15, TimeUnit.SECONDS)
              .enroll(
                  EnrollRequest.newBuilder()
                      .setToken(token.bare())
                      .setNodeId(nodeId)
                      .setCsrPem(Pem.encode(CertificateRequests.create(pair, nodeId)))
                      .build());
    } catch (StatusRuntimeException e) {
      Status.Code code = e.getStatus().getCode();
      if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
        throw new IOException("enrollment: " + e.getStatus().getDescription(), e);
      }
      throw new SecurityException(
          "the manager refused to enroll node "
              + nodeId
              + ": "
              + code
              + " "
              + e.getStatus().getDescription());
    }
    store(pair.getPrivate(), Pem.certificates(answer.getCertificatePem()));
    LOG.info(
        () ->
            "node "
                + nodeId
                + " is enrolled; its key and certificate are in "
                + file()
                + " (valid until "
                + certificate().orElseThrow().getNotAfter().toInstant()
                + ")");
  }

  /**
   * A certificate request for a new key when the certificate is due for renewal (two thirds of its
   * life passed) and no request is waiting for an answer; empty otherwise.
   */
  public Optional<String> renewalRequest() {
    CertificateAuthority.Issued now = current.get();
    if (now == null) {
      return Optional.empty();
    }
    long nowMs = clock.millis();
    X509Certificate cert = now.certificate();
    long from = cert.getNotBefore().getTime();
    long to = cert.getNotAfter().getTime();
    if (nowMs < from + (to - from) * 2 / 3) {
      return Optional.empty();
    }
    if (pending != null && nowMs - pendingSinceMs < RETRY_RENEWAL_MS) {
      return Optional.empty();
    }
    KeyPair pair = CertificateAuthority.newKeyPair();
    pending = pair;
    pendingSinceMs = nowMs;
    LOG.info(
        () ->
            "renewing node "
                + nodeId
                + "'s certificate (valid until "
                + cert.getNotAfter().toInstant()
                + ")");
    return Optional.of(Pem.encode(CertificateRequests.create(pair, nodeId)));
  }

  /** The manager's answer to the last renewal request. */
  public void renewed(String certificatePem, String error) {
    KeyPair pair = pending;
    if (!error.isEmpty() || pair == null) {
      LOG.warning(() -> "the manager did not renew node " + nodeId + "'s certificate: " + error);
      return;
    }
    try {
      List<X509Certificate> chain = Pem.certificates(certificatePem);
      if (!chain.get(0).getPublicKey().equals(pair.getPublic())) {
        LOG.warning("the renewed certificate is not for the key this daemon asked for; ignored");
        return;
      }
      store(pair.getPrivate(), chain);
      pending = null;
      LOG.info(
          () ->
              "node "
                  + nodeId
                  + "'s certificate is renewed, valid until "
                  + chain.get(0).getNotAfter().toInstant());
    } catch (IOException | IllegalArgumentException e) {
      LOG.warning(() -> "could not keep the renewed certificate: " + e.getMessage());
    }
  }

  private void store(PrivateKey key, List<X509Certificate> chain) throws IOException {
    Files.createDirectories(dir);
    AtomicFiles.write(
        file(),
        Pem.encode(key, chain.get(0)).getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-------"));
    AtomicFiles.write(
        dir.resolve("node.crt"),
        Pem.encode(chain.get(0)).getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-r--r--"));
    current.set(new CertificateAuthority.Issued(key, List.of(chain.get(0))));
  }

  /** Presents the current key and certificate (nothing before enrollment). */
  public X509ExtendedKeyManager keyManager() {
    return new X509ExtendedKeyManager() {
      @Override
      public String[] getClientAliases(String keyType, Principal[] issuers) {
        return current.get() == null ? null : new String[] {ALIAS};
      }

      @Override
      public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return chosen(keyType);
      }

      @Override
      public String chooseEngineClientAlias(
          String[] keyType, Principal[] issuers, SSLEngine engine) {
        return chosen(keyType);
      }

      private String chosen(String[] keyTypes) {
        CertificateAuthority.Issued id = current.get();
        if (id == null) {
          return null;
        }
        String alg = id.key().getAlgorithm();
        return keyTypes == null
                || Arrays.stream(keyTypes)
                    .anyMatch(t -> t.equalsIgnoreCase(alg) || t.startsWith(alg))
            ? ALIAS
            : null;
      }

      @Override
      public String[] getServerAliases(String keyType, Principal[] issuers) {
        return null;
      }

      @Override
      public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return null;
      }

      @Override
      public X509Certificate[] getCertificateChain(String alias) {
        CertificateAuthority.Issued id = current.get();
        return id == null || !ALIAS.equals(alias)
            ? null
            : id.chain().toArray(X509Certificate[]::new);
      }

      @Override
      public PrivateKey getPrivateKey(String alias) {
        CertificateAuthority.Issued id = current.get();
        return id == null || !ALIAS.equals(alias) ? null : id.key();
      }
    };
  }
}
