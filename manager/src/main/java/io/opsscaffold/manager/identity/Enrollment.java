package io.opsscaffold.manager.identity;

import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.link.NodeAuthenticator;
import io.opsscaffold.security.CertificateAuthority;
import io.opsscaffold.security.JoinToken;
import io.opsscaffold.security.Pem;
import io.opsscaffold.security.Secrets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Node identity, as kubelet's TLS bootstrap and k3s join tokens do it: an admin creates an
 * enrollment token; a daemon spends it once to have the CSR of a key it generated signed by the
 * manager's CA; from then on its certificate is its identity on the link, renewed over the link
 * before it expires, refused once the node is revoked. Thread-safe (state is in the repository).
 */
public final class Enrollment implements NodeAuthenticator {
  private static final Logger LOG = Logger.getLogger(Enrollment.class.getName());
  private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  static final Duration DEFAULT_TOKEN_TTL = Duration.ofHours(24);
  static final Duration MAX_TOKEN_TTL = Duration.ofDays(365);
  private static final int MAX_LABEL = 128;

  private final IdentityRepository repository;
  private final CertificateAuthority ca; // null without TLS
  private final Duration certificateValidity;
  private final Clock clock;

  /**
   * @param certificateValidity how long a node's certificate is valid; daemons renew at two thirds
   */
  public Enrollment(
      IdentityRepository repository,
      Optional<CertificateAuthority> ca,
      Duration certificateValidity,
      Clock clock) {
    this.repository = repository;
    this.ca = ca.orElse(null);
    this.certificateValidity = certificateValidity;
    this.clock = clock;
  }

  /** A new token and its secret, shown once. */
  public record Created(EnrollmentToken token, String secret, String joinToken) {}

  /** What an enrolled daemon receives. */
  public record Enrolled(String certificatePem, String caPem, long notAfterMs, Labels labels) {}

  /** The CA's fingerprint ({@code sha256:<hex>}); empty without TLS. */
  public String caFingerprint() {
    return ca == null ? "" : ca.fingerprint();
  }

  private CertificateAuthority ca() {
    if (ca == null) {
      throw OpsException.failedPrecondition(
          "the manager runs without TLS (tls.insecure): there is no CA to enroll nodes with");
    }
    return ca;
  }

  /**
   * Creates an enrollment token.
   *
   * @param ttl how long it may be used; zero for the default (24 h)
   * @throws OpsException INVALID_ARGUMENT naming the field
   */
  public Created createToken(String description, Duration ttl, int maxUses, Labels labels) {
    CertificateAuthority ca = ca();
    if (ttl.isNegative() || ttl.compareTo(MAX_TOKEN_TTL) > 0) {
      throw OpsException.invalidArgument("ttl must be between 0 (24 h) and 365 days");
    }
    if (maxUses < 0) {
      throw OpsException.invalidArgument("max_uses must not be negative");
    }
    if (description.length() > 256) {
      throw OpsException.invalidArgument("description must be at most 256 characters");
    }
    checkLabel("labels.area", labels.area());
    checkLabel("labels.zone", labels.zone());
    checkLabel("labels.business", labels.business());
    long now = clock.millis();
    String id = Secrets.id(10);
    String secret = Secrets.secret();
    EnrollmentToken token =
        new EnrollmentToken(
            id,
            Secrets.hash(secret),
            description,
            labels,
            now,
            now + (ttl.isZero() ? DEFAULT_TOKEN_TTL : ttl).toMillis(),
            maxUses,
            0,
            0);
    repository.insertEnrollmentToken(token);
    LOG.info(() -> "enrollment token " + id + " created (" + description + ")");
    return new Created(
        token, id + "." + secret, JoinToken.withFingerprint(ca.fingerprint(), id, secret));
  }

  /**
   * Writes a new join token (24 h, any number of uses) to {@code file} (0600) unless the file
   * exists; for daemons that read it from a shared volume. The log names the file, not the token.
   */
  public void writeTokenFile(java.nio.file.Path file) {
    if (java.nio.file.Files.exists(file)) {
      return;
    }
    Created c = createToken("written to " + file, DEFAULT_TOKEN_TTL, 0, Labels.NONE);
    try {
      java.nio.file.Files.createDirectories(file.toAbsolutePath().getParent());
      io.opsscaffold.files.AtomicFiles.write(
          file,
          (c.joinToken() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8),
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(
          "cannot write the enrollment token to " + file + " (enrollment.token-file)", e);
    }
    LOG.info(
        () ->
            "enrollment token "
                + c.token().tokenId()
                + " (valid 24 h) written to "
                + file
                + " for daemons that share it");
  }

  private static void checkLabel(String field, String value) {
    if (value.length() > MAX_LABEL) {
      throw OpsException.invalidArgument(field + " must be at most " + MAX_LABEL + " characters");
    }
  }

  /**
   * Enrolls {@code nodeId} with {@code tokenText}: signs the node's CSR.
   *
   * @param admin whether the call carries an admin's credential (needed for {@code replace})
   * @throws OpsException INVALID_ARGUMENT for a malformed field, UNAUTHENTICATED naming why the
   *     token is refused, CONFLICT when the node is enrolled and no admin asked to replace it
   */
  public Enrolled enroll(
      String tokenText, String nodeId, String csrPem, boolean replace, boolean admin) {
    CertificateAuthority ca = ca();
    JoinToken parsed;
    try {
      parsed = JoinToken.parse(tokenText);
    } catch (IllegalArgumentException e) {
      throw OpsException.invalidArgument("token: " + e.getMessage());
    }
    if (!NODE_ID.matcher(nodeId).matches()) {
      throw OpsException.invalidArgument("node_id must be 1 to 128 characters of [A-Za-z0-9._-]");
    }
    PKCS10CertificationRequest csr = csr("csr_pem", csrPem);
    if (parsed.caFingerprint().isPresent()
        && !parsed.caFingerprint().get().equals(ca.fingerprint())) {
      throw OpsException.invalidArgument(
          "token: it carries the fingerprint of another CA than this manager's");
    }
    long now = clock.millis();
    EnrollmentToken token =
        repository
            .enrollmentToken(parsed.tokenId())
            .filter(t -> Secrets.matches(t.secretHash(), parsed.secret()))
            .orElseThrow(() -> OpsException.unauthenticated("the enrollment token is not known"));
    EnrollmentToken.State state = token.state(now);
    if (state != EnrollmentToken.State.VALID) {
      throw refused(token, state);
    }
    Optional<NodeCredential> existing = repository.credential(nodeId);
    if (existing.isPresent()) {
      if (!replace) {
        throw OpsException.conflict(
            "node "
                + nodeId
                + " is already enrolled"
                + (existing.get().revoked() ? " (and revoked)" : "")
                + "; an admin can enroll it again with replace, or delete it first");
      }
      if (!admin) {
        throw OpsException.permissionDenied(
            "replacing the enrollment of node " + nodeId + " needs an admin's token");
      }
    }
    if (!repository.spendEnrollmentToken(token.tokenId(), now)) {
      // Lost a race for the last use, or revoked meanwhile: say which, as read now.
      EnrollmentToken again = repository.enrollmentToken(token.tokenId()).orElse(token);
      throw refused(again, again.state(clock.millis()));
    }
    X509Certificate cert;
    try {
      cert = ca.issueNode(csr, nodeId, certificateValidity);
    } catch (IllegalArgumentException e) {
      throw OpsException.invalidArgument("csr_pem: " + e.getMessage());
    }
    repository.saveCredential(
        new NodeCredential(
            nodeId,
            serial(cert),
            "",
            cert.getNotAfter().getTime(),
            now,
            token.tokenId(),
            token.labels(),
            0));
    LOG.info(
        () ->
            "node "
                + nodeId
                + " enrolled with token "
                + token.tokenId()
                + (existing.isPresent() ? " (replacing its earlier enrollment)" : "")
                + "; certificate "
                + serial(cert)
                + " valid until "
                + cert.getNotAfter().toInstant());
    return new Enrolled(
        Pem.encode(cert),
        Pem.encode(ca.certificate()),
        cert.getNotAfter().getTime(),
        token.labels());
  }

  private static OpsException refused(EnrollmentToken token, EnrollmentToken.State state) {
    String why =
        switch (state) {
          case EXPIRED -> "has expired";
          case USED_UP -> "is used up (" + token.maxUses() + " of " + token.maxUses() + " uses)";
          case REVOKED -> "was revoked";
          case VALID -> "is valid";
        };
    return OpsException.unauthenticated("the enrollment token " + token.tokenId() + " " + why);
  }

  private static PKCS10CertificationRequest csr(String field, String pem) {
    try {
      return Pem.request(pem);
    } catch (IllegalArgumentException e) {
      throw OpsException.invalidArgument(field + ": not a PEM certificate request");
    }
  }

  @Override
  public Imposed admit(String nodeId, List<X509Certificate> peer) throws Refused {
    if (ca == null) {
      throw new Refused("the manager runs without TLS: it has no node identities", false);
    }
    if (peer.isEmpty()) {
      throw new Refused(
          "no client certificate: enroll this daemon (manager.enrollment-token) first", false);
    }
    X509Certificate cert = peer.get(0);
    try {
      cert.verify(ca.certificate().getPublicKey());
      cert.checkValidity(new java.util.Date(clock.millis()));
    } catch (java.security.GeneralSecurityException e) {
      throw new Refused(
          "the client certificate is not a valid certificate of this manager's CA", false);
    }
    Optional<String> named = nodeIdOf(cert);
    if (named.isEmpty()) {
      throw new Refused("the client certificate is not a node's certificate", false);
    }
    if (!named.get().equals(nodeId)) {
      throw new Refused(
          "the client certificate is node " + named.get() + "'s; it cannot speak for " + nodeId,
          false);
    }
    Optional<NodeCredential> credential;
    try {
      credential = repository.credential(nodeId);
    } catch (RuntimeException e) {
      throw new Refused("node identities cannot be read now; retry", true);
    }
    if (credential.isEmpty()) {
      throw new Refused("node " + nodeId + " is not enrolled (it was deleted)", false);
    }
    if (credential.get().revoked()) {
      throw new Refused("node " + nodeId + " was revoked", false);
    }
    if (!credential.get().accepts(serial(cert))) {
      throw new Refused(
          "this certificate of node " + nodeId + " was replaced by a newer enrollment", false);
    }
    Labels l = credential.get().labels();
    return new Imposed(l.area(), l.zone(), l.business());
  }

  @Override
  public String renew(String nodeId, String csrPem) throws Refused {
    if (ca == null) {
      throw new Refused("the manager runs without TLS: there are no certificates", false);
    }
    PKCS10CertificationRequest csr;
    try {
      csr = Pem.request(csrPem);
    } catch (IllegalArgumentException e) {
      throw new Refused("csr_pem: not a PEM certificate request", false);
    }
    X509Certificate cert;
    try {
      cert = ca.issueNode(csr, nodeId, certificateValidity);
    } catch (IllegalArgumentException e) {
      throw new Refused("csr_pem: " + e.getMessage(), false);
    }
    boolean renewed;
    try {
      renewed = repository.renewCredential(nodeId, serial(cert), cert.getNotAfter().getTime());
    } catch (RuntimeException e) {
      throw new Refused("node identities cannot be written now; retry", true);
    }
    if (!renewed) {
      throw new Refused("node " + nodeId + " is revoked or deleted", false);
    }
    LOG.info(
        () ->
            "node "
                + nodeId
                + " renewed its certificate: "
                + serial(cert)
                + " valid until "
                + cert.getNotAfter().toInstant());
    return Pem.encode(cert);
  }

  /** The node id a node certificate names ({@code OU=node, CN=<id>}), if it is one. */
  static Optional<String> nodeIdOf(X509Certificate cert) {
    return nameOf(cert, "node");
  }

  /** The CN of a certificate whose one OU is {@code unit} ({@code node}, {@code manager}). */
  static Optional<String> nameOf(X509Certificate cert, String unit) {
    X500Principal p = cert.getSubjectX500Principal();
    X500Name name = X500Name.getInstance(p.getEncoded());
    var ou = name.getRDNs(BCStyle.OU);
    var cn = name.getRDNs(BCStyle.CN);
    if (ou.length != 1
        || cn.length != 1
        || !unit.equals(IETFUtils.valueToString(ou[0].getFirst().getValue()))) {
      return Optional.empty();
    }
    return Optional.of(IETFUtils.valueToString(cn[0].getFirst().getValue()));
  }

  static String serial(X509Certificate cert) {
    return cert.getSerialNumber().toString(16);
  }
}
