package io.opsscaffold.security;

import io.opsscaffold.files.AtomicFiles;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The manager's certificate authority: a key (never leaves the manager's data directory, 0600) and
 * a self-signed CA certificate, created on first start and kept across restarts. It signs the
 * manager's own server certificate and the nodes' client certificates. Keys are EC P-256,
 * signatures ECDSA with SHA-256. Thread-safe (immutable once loaded).
 */
public final class CertificateAuthority {
  /** How long the CA itself is valid. */
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);

  static final String KEY_FILE = "ca.key";
  static final String CERT_FILE = "ca.crt";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final PrivateKey key;
  private final X509Certificate certificate;
  private final Clock clock;

  private CertificateAuthority(PrivateKey key, X509Certificate certificate, Clock clock) {
    this.key = key;
    this.certificate = certificate;
    this.clock = clock;
  }

  /** A certificate and its key, with the chain up to (and including) the CA. */
  public record Issued(PrivateKey key, List<X509Certificate> chain) {
    public X509Certificate certificate() {
      return chain.get(0);
    }
  }

  /**
   * The CA kept in {@code dir} ({@value #KEY_FILE}, {@value #CERT_FILE}); created there when the
   * directory has none. The directory is created readable by its owner only.
   *
   * @throws IOException when the files cannot be read or written
   * @throws IllegalStateException when the files exist but do not hold a CA key and certificate
   */
  public static CertificateAuthority loadOrCreate(Path dir, Clock clock) throws IOException {
    Path keyFile = dir.resolve(KEY_FILE);
    Path certFile = dir.resolve(CERT_FILE);
    if (Files.exists(keyFile) && Files.exists(certFile)) {
      PrivateKey key = Pem.privateKey(Files.readString(keyFile));
      X509Certificate cert = Pem.certificates(Files.readString(certFile)).get(0);
      return new CertificateAuthority(key, cert, clock);
    }
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    KeyPair pair = newKeyPair();
    Instant now = clock.instant();
    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.O, "Ops Scaffold")
            .addRDN(BCStyle.CN, "Ops Scaffold CA " + HexFormat.of().formatHex(randomBytes(4)))
            .build();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  subject,
                  serial(),
                  Date.from(now.minus(Duration.ofHours(1))),
                  Date.from(now.plus(CA_VALIDITY)),
                  subject,
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ext.createSubjectKeyIdentifier(pair.getPublic()));
      X509Certificate cert = sign(b, pair.getPrivate());
      AtomicFiles.write(keyFile, Pem.encode(pair.getPrivate()).getBytes(StandardCharsets.UTF_8));
      AtomicFiles.write(
          certFile,
          Pem.encode(cert).getBytes(StandardCharsets.UTF_8),
          PosixFilePermissions.fromString("rw-r--r--"));
      return new CertificateAuthority(pair.getPrivate(), cert, clock);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not create the CA: " + e.getMessage(), e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  /** The CA certificate's SHA-256 fingerprint, as a daemon pins it. */
  public String fingerprint() {
    return Fingerprints.sha256(certificate);
  }

  /**
   * A new key and a server certificate for it, valid for {@code names} (DNS names and IP addresses)
   * for {@code validity}; usable for TLS servers and, for manager-to-manager calls, as a client.
   */
  public Issued issueServer(String commonName, List<String> names, Duration validity) {
    KeyPair pair = newKeyPair();
    List<GeneralName> sans = new ArrayList<>();
    for (String n : names) {
      sans.add(
          isAddress(n)
              ? new GeneralName(GeneralName.iPAddress, n)
              : new GeneralName(GeneralName.dNSName, n));
    }
    X509Certificate cert =
        issue(
            new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, "Ops Scaffold")
                .addRDN(BCStyle.CN, commonName)
                .build(),
            pair.getPublic(),
            validity,
            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth},
            new GeneralNames(sans.toArray(GeneralName[]::new)));
    return new Issued(pair.getPrivate(), List.of(cert, certificate));
  }

  /**
   * A client certificate for {@code nodeId} on the key of {@code request}: the request must be
   * signed by that key (proof that the requester holds it). The subject is {@code CN=<nodeId>},
   * whatever the request asked for: identity is decided here, not by the requester.
   *
   * @throws IllegalArgumentException when the request's signature does not verify
   */
  public X509Certificate issueNode(
      PKCS10CertificationRequest request, String nodeId, Duration validity) {
    PublicKey key;
    try {
      JcaPKCS10CertificationRequest r = new JcaPKCS10CertificationRequest(request);
      key = r.getPublicKey();
      if (!request.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
        throw new IllegalArgumentException("the certificate request is not signed by its own key");
      }
    } catch (GeneralSecurityException | OperatorCreationException | PKCSException e) {
      throw new IllegalArgumentException(
          "the certificate request cannot be read: " + e.getMessage(), e);
    }
    return issue(
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.O, "Ops Scaffold")
            .addRDN(BCStyle.OU, "node")
            .addRDN(BCStyle.CN, nodeId)
            .build(),
        key,
        validity,
        new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth},
        null);
  }

  /**
   * A client certificate {@code OU=manager, CN=<managerId>} for one of the area's managers, on a
   * key it made itself: what a manager presents when it relays a call to another manager.
   */
  public X509Certificate issueManager(PublicKey key, String managerId, Duration validity) {
    return issue(
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.O, "Ops Scaffold")
            .addRDN(BCStyle.OU, "manager")
            .addRDN(BCStyle.CN, managerId)
            .build(),
        key,
        validity,
        new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth},
        null);
  }

  private X509Certificate issue(
      X500Name subject,
      PublicKey key,
      Duration validity,
      KeyPurposeId[] usages,
      GeneralNames sans) {
    Instant now = clock.instant();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
                  certificate,
                  serial(),
                  // Back-dated for clocks a little behind ours; by at most a quarter of the
                  // lifetime, so that a short-lived certificate's renewal point stays in its life.
                  Date.from(now.minus(min(Duration.ofMinutes(5), validity.dividedBy(4)))),
                  Date.from(now.plus(validity)),
                  subject,
                  key)
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
              .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(usages))
              .addExtension(
                  Extension.authorityKeyIdentifier,
                  false,
                  ext.createAuthorityKeyIdentifier(certificate))
              .addExtension(
                  Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
      if (sans != null) {
        b.addExtension(Extension.subjectAlternativeName, false, sans);
      }
      return sign(b, this.key);
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("could not issue a certificate: " + e.getMessage(), e);
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** A new EC P-256 key pair. */
  public static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
      throws GeneralSecurityException {
    try {
      ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").build(signer);
      return new JcaX509CertificateConverter().getCertificate(b.build(s));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e.getMessage(), e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(1, randomBytes(16));
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Whether {@code name} is an IPv4 or IPv6 literal (not a name to resolve). */
  static boolean isAddress(String name) {
    if (!name.matches("[0-9.]+|.*:.*")) {
      return false;
    }
    try {
      InetAddress.getByName(name);
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
