package io.opsscaffold.manager.identity;

/**
 * An enrollment token as stored: the secret only as its hash.
 *
 * @param maxUses how many nodes may enroll with it; 0 = no limit
 * @param revokedMs when it was revoked; 0 while it is not
 */
public record EnrollmentToken(
    String tokenId,
    String secretHash,
    String description,
    Labels labels,
    long createdMs,
    long expiresMs,
    int maxUses,
    int uses,
    long revokedMs) {

  /** Why a token can or cannot be used now. */
  public enum State {
    VALID("valid"),
    EXPIRED("expired"),
    USED_UP("used-up"),
    REVOKED("revoked");

    private final String text;

    State(String text) {
      this.text = text;
    }

    public String text() {
      return text;
    }
  }

  public State state(long nowMs) {
    if (revokedMs > 0) {
      return State.REVOKED;
    }
    if (nowMs >= expiresMs) {
      return State.EXPIRED;
    }
    if (maxUses > 0 && uses >= maxUses) {
      return State.USED_UP;
    }
    return State.VALID;
  }
}
