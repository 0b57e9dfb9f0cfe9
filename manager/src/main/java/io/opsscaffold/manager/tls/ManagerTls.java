package io.opsscaffold.manager.tls;

import io.helidon.common.tls.Tls;
import io.helidon.common.tls.TlsClientAuth;
import io.opsscaffold.security.CertificateAuthority;
import io.opsscaffold.security.Pem;
import io.opsscaffold.security.ServerCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The manager's TLS: its CA (created on first start, kept across restarts) and the certificate it
 * presents on its one port, for gRPC, HTTP/JSON, reflection and health alike. Client certificates
 * signed by the CA are asked for but not required at the TLS layer: API clients may come with a
 * token instead; the link decides per call what it accepts.
 */
public final class ManagerTls {
  private static final Logger LOG = Logger.getLogger(ManagerTls.class.getName());

  /** An issued server certificate with less than this left is replaced at start. */
  static final Duration RENEW_BEFORE = Duration.ofDays(30);

  private final CertificateAuthority ca;
  private final CertificateAuthority.Issued server;

  private ManagerTls(CertificateAuthority ca, CertificateAuthority.Issued server) {
    this.ca = ca;
    this.server = server;
  }

  /**
   * Prepares TLS for a manager listening on {@code host}; empty in insecure mode.
   *
   * @throws IllegalArgumentException for insecure mode on anything but a loopback address, or a
   *     configured certificate that cannot be read (the message names the setting)
   * @throws UncheckedIOException when the CA's directory cannot be written
   */
  public static Optional<ManagerTls> prepare(TlsPolicy policy, String host, Clock clock) {
    if (policy.insecure()) {
      if (!loopback(host)) {
        throw new IllegalArgumentException(
            "tls.insecure: plaintext is only allowed on a loopback address; server.host is "
                + host
                + " (set server.host: 127.0.0.1, or turn tls.insecure off)");
      }
      LOG.warning(
          "TLS IS OFF (tls.insecure: true): the manager on "
              + host
              + " speaks plaintext, and anything that can reach this port can read and send everything."
              + " Use it only on this machine.");
      return Optional.empty();
    }
    try {
      CertificateAuthority ca = CertificateAuthority.loadOrCreate(policy.dir(), clock);
      if (policy.caExport().isPresent()) {
        java.nio.file.Path export = policy.caExport().get();
        Files.createDirectories(export.toAbsolutePath().getParent());
        io.opsscaffold.files.AtomicFiles.write(
            export,
            Pem.encode(ca.certificate()).getBytes(java.nio.charset.StandardCharsets.UTF_8),
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      }
      CertificateAuthority.Issued server;
      if (policy.certFile().isPresent()) {
        server = fromFiles(policy);
      } else {
        List<String> names = ServerCredentials.hostNames(policy.names());
        if (!host.isBlank() && !host.equals("0.0.0.0") && !host.equals("::")) {
          names = new java.util.ArrayList<>(names);
          names.add(host);
        }
        server =
            ServerCredentials.ensure(
                policy.dir(), ca, names, policy.serverValidity(), RENEW_BEFORE, clock);
      }
      return Optional.of(new ManagerTls(ca, server));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot set up TLS in " + policy.dir() + " (tls.dir): " + e.getMessage(), e);
    }
  }

  private static CertificateAuthority.Issued fromFiles(TlsPolicy policy) {
    String which = "tls.cert-file";
    try {
      List<X509Certificate> chain = Pem.certificates(Files.readString(policy.certFile().get()));
      which = "tls.key-file";
      if (policy.keyFile().isEmpty()) {
        throw new IllegalArgumentException("tls.key-file: is required with tls.cert-file");
      }
      return new CertificateAuthority.Issued(
          Pem.privateKey(Files.readString(policy.keyFile().get())), chain);
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith("tls.")) {
        throw iae;
      }
      throw new IllegalArgumentException(which + ": cannot be read (" + e.getMessage() + ")", e);
    }
  }

  static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** The CA that signs the manager's and the nodes' certificates. */
  public CertificateAuthority ca() {
    return ca;
  }

  /**
   * The server's TLS for Helidon: its certificate, the CA for client certificates, asked for, not
   * required.
   */
  public Tls serverTls() {
    // Helidon 4.4's blocking-socket listener applies no SSL parameters (clientAuth(OPTIONAL) alone
    // sends no CertificateRequest): the context itself asks for client certificates.
    javax.net.ssl.SSLParameters parameters = new javax.net.ssl.SSLParameters();
    parameters.setWantClientAuth(true);
    return Tls.builder()
        .sslContext(
            io.opsscaffold.security.ClientCertificateRequest.wrap(
                io.opsscaffold.security.TlsContexts.create(
                    Optional.of(server), List.of(ca.certificate()))))
        .clientAuth(TlsClientAuth.OPTIONAL)
        .sslParameters(parameters)
        .build();
  }
}
