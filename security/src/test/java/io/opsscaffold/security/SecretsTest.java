package io.opsscaffold.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Token secrets and the join token's two forms. */
class SecretsTest {
  @Test
  void secretsAreRandomAndOnlyTheirHashIsNeededToCheckThem() {
    String a = Secrets.secret();
    String b = Secrets.secret();
    assertNotEquals(a, b);
    assertEquals(43, a.length(), "256 bits, base64url");
    String hash = Secrets.hash(a);
    assertFalse(hash.contains(a));
    assertTrue(Secrets.matches(hash, a));
    assertFalse(Secrets.matches(hash, b));
    assertTrue(Secrets.id(10).matches("[a-z2-9]{10}"));
  }

  @Test
  void aJoinTokenCarriesTheCaFingerprintOrNot() {
    String secret = Secrets.secret();
    String hex = "0f".repeat(32);
    JoinToken full =
        JoinToken.parse(JoinToken.withFingerprint("sha256:" + hex, "abcd1234", secret));
    assertEquals(Optional.of("sha256:" + hex), full.caFingerprint());
    assertEquals("abcd1234." + secret, full.bare());
    JoinToken bare = JoinToken.parse(" abcd1234." + secret + "\n");
    assertEquals(Optional.empty(), bare.caFingerprint());
    assertEquals("abcd1234", bare.tokenId());
    assertFalse(full.toString().contains(secret), "toString hides the secret");
    for (String bad :
        new String[] {"", "abcd1234", "abcd1234.short", "OPS1.zz.abcd1234." + secret}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> JoinToken.parse(bad));
      assertTrue(e.getMessage().startsWith("an enrollment token is"), e.getMessage());
    }
  }
}
