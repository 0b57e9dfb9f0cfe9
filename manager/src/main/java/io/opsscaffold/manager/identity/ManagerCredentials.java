package io.opsscaffold.manager.identity;

import io.opsscaffold.security.CertificateAuthority;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How the managers of an area know one another: each holds the area's CA (a copy, as deployed) and
 * issues itself a client certificate {@code OU=manager, CN=<manager id>} on a key made at start,
 * presented when it relays a call; a manager receiving a relay accepts a chain whose first
 * certificate that CA signed, is valid now and names a manager. Without TLS (the loopback-only
 * insecure mode) there are no certificates and every caller is taken at its word.
 */
public final class ManagerCredentials {
  /** A manager's certificate lives this long; it is made again at every start. */
  static final Duration VALIDITY = Duration.ofDays(30);

  private final Optional<CertificateAuthority> ca;
  private final Clock clock;
  private final Optional<CertificateAuthority.Issued> own;

  public ManagerCredentials(Optional<CertificateAuthority> ca, String managerId, Clock clock) {
    this.ca = ca;
    this.clock = clock;
    this.own =
        ca.map(
            authority -> {
              KeyPair pair = CertificateAuthority.newKeyPair();
              X509Certificate cert = authority.issueManager(pair.getPublic(), managerId, VALIDITY);
              return new CertificateAuthority.Issued(
                  pair.getPrivate(), List.of(cert, authority.certificate()));
            });
  }

  /** This manager's key and certificate chain; empty without TLS. */
  public Optional<CertificateAuthority.Issued> own() {
    return own;
  }

  /** The CA certificate peers present theirs under; empty without TLS. */
  public Optional<X509Certificate> caCertificate() {
    return ca.map(CertificateAuthority::certificate);
  }

  /**
   * The manager a caller's client certificate chain names, if the area's CA issued it to one and it
   * is valid now; without TLS, {@code "anonymous (insecure mode)"}.
   */
  public Optional<String> managerOf(List<X509Certificate> chain) {
    if (ca.isEmpty()) {
      return Optional.of("anonymous (insecure mode)");
    }
    if (chain.isEmpty()) {
      return Optional.empty();
    }
    X509Certificate cert = chain.getFirst();
    try {
      cert.verify(ca.get().certificate().getPublicKey());
      cert.checkValidity(new java.util.Date(clock.millis()));
    } catch (java.security.GeneralSecurityException e) {
      return Optional.empty();
    }
    return Enrollment.nameOf(cert, "manager");
  }
}
