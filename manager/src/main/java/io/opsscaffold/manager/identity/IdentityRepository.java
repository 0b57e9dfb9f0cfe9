package io.opsscaffold.manager.identity;

import java.util.List;
import java.util.Optional;

/** Where enrollment tokens, node credentials and API tokens are kept. Thread-safe. */
public interface IdentityRepository {
  void insertEnrollmentToken(EnrollmentToken token);

  Optional<EnrollmentToken> enrollmentToken(String tokenId);

  /** Every enrollment token, newest first. */
  List<EnrollmentToken> enrollmentTokens();

  /**
   * Spends one use of the token if it is still valid at {@code nowMs}, atomically (two daemons
   * racing for the last use: one wins). True when a use was spent.
   */
  boolean spendEnrollmentToken(String tokenId, long nowMs);

  /** Marks the token revoked (keeps an earlier revocation time); false when it does not exist. */
  boolean revokeEnrollmentToken(String tokenId, long nowMs);

  Optional<NodeCredential> credential(String nodeId);

  List<NodeCredential> credentials();

  /** Stores the node's credential, replacing any earlier one. */
  void saveCredential(NodeCredential credential);

  /**
   * Replaces the node's current serial with {@code serial} (the current one becomes the previous),
   * unless the node is revoked or gone; true when it was replaced.
   */
  boolean renewCredential(String nodeId, String serial, long notAfterMs);

  /** Marks the node revoked; false when it was never enrolled. */
  boolean revokeCredential(String nodeId, long nowMs);

  /** Forgets the node's enrollment; false when there was none. */
  boolean deleteCredential(String nodeId);

  void insertApiToken(ApiToken token);

  Optional<ApiToken> apiToken(String tokenId);

  long apiTokenCount();

  /** Every API token, newest first. */
  List<ApiToken> apiTokens();

  /** Marks the token revoked (keeps an earlier revocation time); false when it does not exist. */
  boolean revokeApiToken(String tokenId, long nowMs);

  /** Records a use of the token (at most a write per call; callers throttle). */
  void touchApiToken(String tokenId, long nowMs);
}
