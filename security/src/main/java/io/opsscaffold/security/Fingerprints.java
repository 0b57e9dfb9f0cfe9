package io.opsscaffold.security;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;

/**
 * SHA-256 fingerprints of certificates, as {@code sha256:} and 64 lower-case hex digits (what
 * {@code openssl x509 -fingerprint -sha256} shows, without colons). A daemon pins the manager's CA
 * by it before it has the CA's file, as k3s join tokens do.
 */
public final class Fingerprints {
  private static final String PREFIX = "sha256:";

  private Fingerprints() {}

  public static String sha256(X509Certificate certificate) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded());
      return PREFIX + HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * {@code text} as a fingerprint: with or without the {@code sha256:} prefix, with or without
   * colons, in any case.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static String parse(String text) {
    String t = text.strip().toLowerCase(Locale.ROOT);
    if (t.startsWith(PREFIX)) {
      t = t.substring(PREFIX.length());
    }
    t = t.replace(":", "");
    if (!t.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(
          "a CA fingerprint is sha256: and 64 hex digits (colons allowed), as the manager prints it");
    }
    return PREFIX + t;
  }
}
