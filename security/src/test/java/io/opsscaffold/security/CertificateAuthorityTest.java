package io.opsscaffold.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  @TempDir Path dir;
  private final Clock clock = Clock.fixed(Instant.parse("2026-06-01T00:00:00Z"), ZoneOffset.UTC);

  @Test
  void theCaIsCreatedOnceWithItsKeyForTheOwnerOnlyAndReloadedAfterwards() throws Exception {
    Path tls = dir.resolve("tls");
    CertificateAuthority first = CertificateAuthority.loadOrCreate(tls, clock);
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve("ca.key"))));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls)));
    CertificateAuthority again = CertificateAuthority.loadOrCreate(tls, clock);
    assertEquals(first.fingerprint(), again.fingerprint(), "kept across restarts");
    assertTrue(first.fingerprint().matches("sha256:[0-9a-f]{64}"), first.fingerprint());
    assertEquals(
        0, first.certificate().getBasicConstraints(), "a CA that signs end certificates only");
    assertNotEquals(
        first.fingerprint(),
        CertificateAuthority.loadOrCreate(dir.resolve("other"), clock).fingerprint());
  }

  @Test
  void aServerCertificateIsSignedByTheCaAndCoversItsNames() throws Exception {
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, clock);
    CertificateAuthority.Issued s =
        ca.issueServer("ops-manager", List.of("manager", "127.0.0.1", "::1"), Duration.ofDays(30));
    X509Certificate cert = s.certificate();
    cert.verify(ca.certificate().getPublicKey());
    assertEquals(List.of(cert, ca.certificate()), s.chain());
    assertTrue(
        ServerCredentials.sans(cert)
            .containsAll(List.of("manager", "127.0.0.1", "0:0:0:0:0:0:0:1")),
        ServerCredentials.sans(cert).toString());
    assertTrue(cert.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"), "serverAuth");
    assertEquals(clock.instant().plus(Duration.ofDays(30)), cert.getNotAfter().toInstant());
  }

  @Test
  void aNodeCertificateNamesTheNodeTheCaDecidesNotTheOneTheRequestAsks() throws Exception {
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir, clock);
    KeyPair pair = CertificateAuthority.newKeyPair();
    PKCS10CertificationRequest request = CertificateRequests.create(pair, "somebody-else");
    X509Certificate cert =
        ca.issueNode(Pem.request(Pem.encode(request)), "node-7", Duration.ofDays(7));
    cert.verify(ca.certificate().getPublicKey());
    assertEquals(pair.getPublic(), cert.getPublicKey(), "the requester's key, which never left it");
    assertEquals(
        new X500Principal("CN=node-7, OU=node, O=Ops Scaffold"), cert.getSubjectX500Principal());
    assertEquals(List.of("1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage(), "clientAuth only");
  }

  @Test
  void aRequestNotSignedByItsOwnKeyIsRefused() {
    CertificateAuthority ca;
    try {
      ca = CertificateAuthority.loadOrCreate(dir, clock);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
    KeyPair mine = CertificateAuthority.newKeyPair();
    KeyPair other = CertificateAuthority.newKeyPair();
    // A request for one key, signed with another: the requester does not hold the key it names.
    PKCS10CertificationRequest forged;
    try {
      forged =
          new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                  new org.bouncycastle.asn1.x500.X500Name("CN=n1"), mine.getPublic())
              .build(
                  new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                      .build(other.getPrivate()));
    } catch (org.bouncycastle.operator.OperatorCreationException e) {
      throw new IllegalStateException(e);
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ca.issueNode(forged, "n1", Duration.ofDays(1)));
    assertEquals("the certificate request is not signed by its own key", e.getMessage());
  }

  @Test
  void fingerprintsAreReadInTheFormsPeopleCopyThem() {
    String hex = "ab".repeat(32);
    assertEquals("sha256:" + hex, Fingerprints.parse("sha256:" + hex));
    assertEquals("sha256:" + hex, Fingerprints.parse(hex.toUpperCase()));
    assertEquals("sha256:" + hex, Fingerprints.parse(String.join(":", hex.split("(?<=\\G..)"))));
    assertThrows(IllegalArgumentException.class, () -> Fingerprints.parse("sha256:1234"));
  }
}
