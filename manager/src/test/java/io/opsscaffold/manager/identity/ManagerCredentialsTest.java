package io.opsscaffold.manager.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.opsscaffold.security.CertificateAuthority;
import io.opsscaffold.security.CertificateRequests;
import io.opsscaffold.testing.ManualClock;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Who may relay calls to a manager: the area's other managers, by their certificates only. */
class ManagerCredentialsTest {
  @TempDir Path dir;
  private final ManualClock clock = new ManualClock();

  @Test
  void onlyAManagerCertificateFromTheAreasCaIsAManager() throws Exception {
    CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir.resolve("ca"), clock);
    ManagerCredentials a = new ManagerCredentials(Optional.of(ca), "m-a", clock);
    ManagerCredentials b = new ManagerCredentials(Optional.of(ca), "m-b", clock);

    assertEquals(Optional.of("m-a"), b.managerOf(a.own().orElseThrow().chain()));
    assertEquals(Optional.of("m-b"), a.managerOf(b.own().orElseThrow().chain()));

    // A node's certificate from the same CA is not a manager's.
    KeyPair pair = CertificateAuthority.newKeyPair();
    X509Certificate node =
        ca.issueNode(CertificateRequests.create(pair, "n1"), "n1", Duration.ofDays(1));
    assertEquals(Optional.empty(), a.managerOf(List.of(node, ca.certificate())));
    // Nor is a manager's certificate from another CA, or no certificate at all.
    CertificateAuthority other = CertificateAuthority.loadOrCreate(dir.resolve("other"), clock);
    ManagerCredentials stranger = new ManagerCredentials(Optional.of(other), "m-a", clock);
    assertEquals(Optional.empty(), a.managerOf(stranger.own().orElseThrow().chain()));
    assertEquals(Optional.empty(), a.managerOf(List.of()));
    // An expired one neither.
    clock.advance(ManagerCredentials.VALIDITY.plusDays(1));
    assertEquals(Optional.empty(), a.managerOf(b.own().orElseThrow().chain()));
  }

  @Test
  void withoutTlsEveryCallerIsTakenAtItsWord() {
    ManagerCredentials insecure = new ManagerCredentials(Optional.empty(), "m-a", clock);
    assertEquals(Optional.empty(), insecure.own());
    assertEquals(Optional.of("anonymous (insecure mode)"), insecure.managerOf(List.of()));
  }
}
