package io.opsscaffold.manager.identity;

/**
 * An enrolled node: the serial (hex) of its current certificate, and of the one it renewed from,
 * which stays valid until it expires so that a stream opened with it is not refused.
 *
 * @param previousSerial empty when the node never renewed
 * @param revokedMs when the node was revoked; 0 while it is not
 */
public record NodeCredential(
    String nodeId,
    String serial,
    String previousSerial,
    long notAfterMs,
    long enrolledMs,
    String tokenId,
    Labels labels,
    long revokedMs) {

  public boolean revoked() {
    return revokedMs > 0;
  }

  /** Whether a certificate with {@code certSerial} is this node's current or previous one. */
  public boolean accepts(String certSerial) {
    return certSerial.equals(serial)
        || (!previousSerial.isEmpty() && certSerial.equals(previousSerial));
  }
}
