package io.opsscaffold.manager.identity;

import java.util.List;

/**
 * A bearer token for the API as stored: the secret only as its hash.
 *
 * @param areas the areas it may act on; empty = all
 * @param expiresMs 0 = never
 * @param revokedMs 0 while not revoked
 */
public record ApiToken(
    String tokenId,
    String secretHash,
    String name,
    Role role,
    List<String> areas,
    long createdMs,
    long expiresMs,
    long lastUsedMs,
    long revokedMs) {

  public ApiToken {
    areas = List.copyOf(areas);
  }

  /** Whether the token authenticates a call at {@code nowMs}. */
  public boolean usable(long nowMs) {
    return revokedMs == 0 && (expiresMs == 0 || nowMs < expiresMs);
  }
}
