package io.opsscaffold.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Random token ids and secrets, and their hashes. Secrets have 256 bits of entropy, so a plain
 * SHA-256 is a safe way to store them (no password stretching needed); comparisons take constant
 * time. Stateless and thread-safe.
 */
public final class Secrets {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789".toCharArray();

  private Secrets() {}

  /** A short public id: {@code length} characters of lower-case letters and digits. */
  public static String id(int length) {
    char[] out = new char[length];
    for (int i = 0; i < length; i++) {
      out[i] = ID_ALPHABET[RANDOM.nextInt(ID_ALPHABET.length)];
    }
    return new String(out);
  }

  /** A secret of 32 random bytes, base64url without padding (43 characters). */
  public static String secret() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The SHA-256 of {@code secret} (UTF-8), lower-case hex. */
  public static String hash(String secret) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether {@code secret} hashes to {@code hash}, in time independent of where they differ. */
  public static boolean matches(String hash, String secret) {
    return MessageDigest.isEqual(
        hash.getBytes(StandardCharsets.US_ASCII), hash(secret).getBytes(StandardCharsets.US_ASCII));
  }
}
