package io.opsscaffold.security;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An enrollment token as a person copies it: {@code <token id>.<secret>}, or, carrying the
 * manager's CA fingerprint so that a daemon can trust the manager without a CA file (as k3s join
 * tokens do), {@code OPS1.<64 hex digits>.<token id>.<secret>}. {@link #toString} never shows the
 * secret.
 *
 * @param caFingerprint {@code sha256:<hex>} when the token carries one
 */
public record JoinToken(Optional<String> caFingerprint, String tokenId, String secret) {
  private static final Pattern FORM =
      Pattern.compile("(?:OPS1\\.([0-9a-f]{64})\\.)?([a-z0-9]{4,32})\\.([A-Za-z0-9_-]{20,128})");

  /**
   * Reads {@code text}.
   *
   * @throws IllegalArgumentException saying what the form is (never echoing the text)
   */
  public static JoinToken parse(String text) {
    Matcher m = FORM.matcher(text == null ? "" : text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "an enrollment token is <token id>.<secret> or OPS1.<CA fingerprint hex>.<token id>.<secret>,"
              + " as the manager's CreateEnrollmentToken returned it");
    }
    return new JoinToken(
        Optional.ofNullable(m.group(1)).map(h -> "sha256:" + h), m.group(2), m.group(3));
  }

  /** The token without the fingerprint: what the manager checks. */
  public String bare() {
    return tokenId + "." + secret;
  }

  /** The form that carries {@code fingerprint} ({@code sha256:<hex>}). */
  public static String withFingerprint(String fingerprint, String tokenId, String secret) {
    return "OPS1."
        + Fingerprints.parse(fingerprint).substring("sha256:".length())
        + "."
        + tokenId
        + "."
        + secret;
  }

  @Override
  public String toString() {
    return "JoinToken[" + tokenId + ", secret hidden]";
  }
}
