package io.opsscaffold.daemon.link;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.security.Fingerprints;
import io.opsscaffold.security.JoinToken;
import io.opsscaffold.security.Pem;
import io.opsscaffold.security.PinnedCa;
import io.opsscaffold.security.TlsContexts;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The daemon's channel to the manager at {@code manager.address}, over mutual TLS: it trusts the
 * manager's CA only ({@link ManagerTrust}; the manager's certificate must name the address the
 * daemon dials) and presents the node's own certificate ({@link NodeCredentials}), enrolling with
 * the enrollment token first when the node has none. Built lazily by the link loop, so a daemon
 * started before its manager keeps supervising and gets its channel once the manager answers. Not
 * thread-safe: the link loop owns it (renewal answers arrive on the transport thread and are handed
 * to the thread-safe credentials).
 */
public final class ManagerChannels implements ChannelSource {
  private static final Logger LOG = Logger.getLogger(ManagerChannels.class.getName());
  private static final Duration FETCH_TIMEOUT = Duration.ofSeconds(10);

  private final LinkPolicy policy;
  private final NodeCredentials credentials;
  private final Optional<JoinToken> token;
  private final Optional<java.nio.file.Path> tokenFile;
  private final List<String> addresses;
  private int current; // index into addresses
  private ManagedChannel channel;

  /**
   * @param credentials the node's key and certificate (made by enrolling when there are none)
   * @param token what to enroll with when the node has no certificate yet
   */
  public ManagerChannels(
      LinkPolicy policy, NodeCredentials credentials, Optional<JoinToken> token) {
    this(policy, credentials, token, Optional.empty());
  }

  /**
   * @param tokenFile where to read the token from when {@code token} is empty (read at enrollment:
   *     it may be written after the daemon started)
   */
  public ManagerChannels(
      LinkPolicy policy,
      NodeCredentials credentials,
      Optional<JoinToken> token,
      Optional<java.nio.file.Path> tokenFile) {
    this.policy = policy;
    this.credentials = credentials;
    this.token = token;
    this.tokenFile = tokenFile;
    this.addresses = policy.addresses();
    // Daemons start at different managers of the list, spread by their node id, so a fleet
    // given the same list does not land on the first manager only.
    this.current = Math.floorMod(credentials.nodeId().hashCode(), addresses.size());
  }

  /** The channels of a daemon with {@code settings}. */
  public static ManagerChannels forDaemon(io.opsscaffold.daemon.DaemonSettings settings) {
    return new ManagerChannels(
        settings.link(),
        new NodeCredentials(
            settings.dataDir().resolve("tls"), settings.nodeId(), java.time.Clock.systemUTC()),
        settings.enrollmentToken(),
        settings.enrollmentTokenFile());
  }

  @Override
  public Channel channel() throws IOException {
    if (channel == null) {
      channel = build();
    } else if (channel.getState(false) == io.grpc.ConnectivityState.TRANSIENT_FAILURE) {
      // The link's own backoff (manager.reconnect-*) decides when to try again. A gRPC channel
      // that failed to connect keeps a backoff of its own, growing to two minutes, and fails every
      // call at once until it ends: a manager back after an outage would wait for it (seen: 7 s
      // after it listened). A failed channel is replaced instead.
      channel.shutdownNow();
      channel = null;
      channel = build();
    }
    return channel;
  }

  @Override
  public String target() {
    return addresses.get(current);
  }

  /** With several managers, the next attempt goes to the next one in the list. */
  @Override
  public void failed() {
    if (addresses.size() > 1) {
      if (channel != null) {
        channel.shutdownNow();
        channel = null;
      }
      current = (current + 1) % addresses.size();
    }
  }

  private ManagedChannel build() throws IOException {
    OkHttpChannelBuilder b =
        OkHttpChannelBuilder.forTarget(target())
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS);
    Optional<X509Certificate> ca = ca();
    if (ca.isEmpty()) {
      LOG.warning(
          "TLS IS OFF (manager.tls.insecure: true): the link to "
              + target()
              + " is plaintext and the manager is not authenticated");
      return b.usePlaintext().build();
    }
    if (!credentials.enrolled() && !credentials.load()) {
      enroll(ca.get());
    }
    return b.sslSocketFactory(
            TlsContexts.create(credentials.keyManager(), List.of(ca.get())).getSocketFactory())
        .build();
  }

  /** Enrolls over a channel of its own (its connection presents no certificate) and closes it. */
  private void enroll(X509Certificate ca) throws IOException {
    Optional<JoinToken> given = token;
    if (given.isEmpty() && tokenFile.isPresent()) {
      if (!Files.isRegularFile(tokenFile.get())) {
        throw new IOException(
            "this node is not enrolled and its enrollment token file "
                + tokenFile.get()
                + " (manager.enrollment-token-file) does not exist (yet)");
      }
      try {
        given = Optional.of(JoinToken.parse(Files.readString(tokenFile.get())));
      } catch (IllegalArgumentException e) {
        throw new SecurityException(
            tokenFile.get() + " (manager.enrollment-token-file): " + e.getMessage());
      }
    }
    if (given.isEmpty()) {
      throw new IOException(
          "this node is not enrolled: give the daemon an enrollment token"
              + " (manager.enrollment-token or manager.enrollment-token-file, from the manager's"
              + " CreateEnrollmentToken)");
    }
    ManagedChannel once =
        OkHttpChannelBuilder.forTarget(target())
            .sslSocketFactory(TlsContexts.create(Optional.empty(), List.of(ca)).getSocketFactory())
            .build();
    try {
      credentials.enroll(once, given.get());
    } finally {
      once.shutdownNow();
    }
  }

  @Override
  public Optional<String> renewalRequest() {
    return policy.trust() instanceof ManagerTrust.Insecure
        ? Optional.empty()
        : credentials.renewalRequest();
  }

  @Override
  public void renewed(String certificatePem, String error) {
    credentials.renewed(certificatePem, error);
  }

  /** The manager's CA to trust; empty for insecure mode. */
  Optional<X509Certificate> ca() throws IOException {
    return switch (policy.trust()) {
      case ManagerTrust.Insecure i -> Optional.empty();
      case ManagerTrust.CaFile f -> Optional.of(read(f.file()));
      case ManagerTrust.Pinned p -> Optional.of(pinned(p));
    };
  }

  private X509Certificate pinned(ManagerTrust.Pinned p) throws IOException {
    String pin = Fingerprints.parse(p.fingerprint());
    if (Files.exists(p.store())) {
      X509Certificate kept = read(p.store());
      if (!Fingerprints.sha256(kept).equals(pin)) {
        throw new SecurityException(
            "the manager CA kept in "
                + p.store()
                + " has fingerprint "
                + Fingerprints.sha256(kept)
                + ", not the configured "
                + pin
                + "; remove the file if the manager's CA was replaced on purpose");
      }
      return kept;
    }
    URI target = URI.create("tcp://" + target());
    X509Certificate ca = PinnedCa.fetch(target.getHost(), target.getPort(), pin, FETCH_TIMEOUT);
    Files.createDirectories(p.store().toAbsolutePath().getParent());
    AtomicFiles.write(
        p.store(),
        Pem.encode(ca).getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-r--r--"));
    LOG.info(() -> "the manager's CA " + pin + " is pinned and kept in " + p.store());
    return ca;
  }

  private static X509Certificate read(java.nio.file.Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException(
          "the manager's CA certificate " + file + " (manager.tls.ca-file) does not exist (yet)");
    }
    try {
      return Pem.certificates(Files.readString(file)).get(0);
    } catch (IllegalArgumentException e) {
      throw new IOException(file + " holds no certificate: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (channel != null) {
      channel.shutdownNow();
    }
  }
}
