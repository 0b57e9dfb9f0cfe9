package io.opsscaffold.manager.identity;

import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.security.Secrets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * API bearer tokens: {@code <token id>.<secret>}, stored as a hash. On first start with no token at
 * all the manager creates a bootstrap admin token, as {@code nomad acl bootstrap} and Elasticsearch
 * 8 do, and writes it to a 0600 file in its data directory. Thread-safe.
 */
public final class ApiTokens {
  private static final Logger LOG = Logger.getLogger(ApiTokens.class.getName());
  private static final Pattern FORM = Pattern.compile("([a-z0-9]{4,32})\\.([A-Za-z0-9_-]{20,128})");

  /** A token's last use is written at most this often. */
  private static final long TOUCH_EVERY_MS = 60_000;

  /** A token read from the database is trusted this long before it is read again. */
  static final long CACHE_MS = 5_000;

  /** While the database cannot be read, a token read before is trusted this long. */
  static final long STALE_MS = 60_000;

  private final IdentityRepository repository;
  private final Clock clock;
  private final java.util.concurrent.ConcurrentHashMap<String, Read> cache =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** A token as read at {@code atMs} (empty: there was none). */
  private record Read(Optional<ApiToken> token, long atMs) {}

  /** A new token and its secret, shown once. */
  public record Created(ApiToken token, String secret) {}

  public ApiTokens(IdentityRepository repository, Clock clock) {
    this.repository = repository;
    this.clock = clock;
  }

  /**
   * Creates the bootstrap admin token when there is no token yet, writing it to {@code file}
   * (0600); returns whether it did. The secret is never logged: the log names the file.
   */
  public boolean bootstrap(Path file) {
    if (repository.apiTokenCount() > 0) {
      return false;
    }
    String secret = Secrets.secret();
    String id = Secrets.id(10);
    long now = clock.millis();
    repository.insertApiToken(
        new ApiToken(
            id, Secrets.hash(secret), "bootstrap-admin", Role.ADMIN, List.of(), now, 0, 0, 0));
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      AtomicFiles.write(
          file,
          (id + "." + secret + "\n").getBytes(StandardCharsets.UTF_8),
          PosixFilePermissions.fromString("rw-------"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the bootstrap admin token to " + file, e);
    }
    LOG.warning(
        () ->
            "created the bootstrap admin token "
                + id
                + " and wrote it to "
                + file
                + " (readable by this user only); send it as 'Authorization: Bearer <token>'");
    return true;
  }

  /**
   * The principal {@code bearer} proves, if it is a usable token. Tokens are read through a short
   * cache (a revocation takes effect on this manager at once, on others within {@link #CACHE_MS}).
   *
   * @throws RuntimeException when the token store cannot be read and the token was not read in the
   *     last {@link #STALE_MS}
   */
  public Optional<Principal> authenticate(String bearer) {
    Matcher m = FORM.matcher(bearer.strip());
    if (!m.matches()) {
      return Optional.empty();
    }
    long now = clock.millis();
    Optional<ApiToken> token =
        read(m.group(1), now)
            .filter(t -> Secrets.matches(t.secretHash(), m.group(2)))
            .filter(t -> t.usable(now));
    token.ifPresent(
        t -> {
          if (now - t.lastUsedMs() >= TOUCH_EVERY_MS) {
            try {
              repository.touchApiToken(t.tokenId(), now);
              cache.put(
                  t.tokenId(),
                  new Read(
                      Optional.of(
                          new ApiToken(
                              t.tokenId(),
                              t.secretHash(),
                              t.name(),
                              t.role(),
                              t.areas(),
                              t.createdMs(),
                              t.expiresMs(),
                              now,
                              t.revokedMs())),
                      now));
            } catch (RuntimeException e) {
              // the last use is a convenience; the call goes on
            }
          }
        });
    return token.map(t -> new Principal(t.tokenId(), t.name(), t.role(), t.areas()));
  }

  private Optional<ApiToken> read(String tokenId, long now) {
    Read cached = cache.get(tokenId);
    if (cached != null && now - cached.atMs() < CACHE_MS) {
      return cached.token();
    }
    try {
      Optional<ApiToken> token = repository.apiToken(tokenId);
      if (cache.size() > 10_000) {
        cache.clear(); // unknown ids sent at random must not grow it without bound
      }
      cache.put(tokenId, new Read(token, now));
      return token;
    } catch (RuntimeException e) {
      if (cached != null && now - cached.atMs() < STALE_MS) {
        return cached.token();
      }
      throw e;
    }
  }

  /**
   * Creates a token.
   *
   * @param ttl zero for a token that does not expire
   * @throws io.opsscaffold.errors.OpsException INVALID_ARGUMENT naming the field
   */
  public Created create(String name, Role role, List<String> areas, java.time.Duration ttl) {
    if (name.isBlank() || name.length() > 128) {
      throw io.opsscaffold.errors.OpsException.invalidArgument("name must be 1 to 128 characters");
    }
    if (ttl.isNegative()) {
      throw io.opsscaffold.errors.OpsException.invalidArgument("ttl must not be negative");
    }
    for (String area : areas) {
      if (area.isBlank() || area.contains(",") || area.length() > 128) {
        throw io.opsscaffold.errors.OpsException.invalidArgument(
            "areas: each is 1 to 128 characters without commas");
      }
    }
    long now = clock.millis();
    String secret = Secrets.secret();
    ApiToken token =
        new ApiToken(
            Secrets.id(10),
            Secrets.hash(secret),
            name,
            role,
            areas,
            now,
            ttl.isZero() ? 0 : now + ttl.toMillis(),
            0,
            0);
    repository.insertApiToken(token);
    LOG.info(
        () ->
            "API token "
                + token.tokenId()
                + " ("
                + name
                + ", "
                + role.text()
                + (areas.isEmpty() ? "" : ", areas " + areas)
                + ") created");
    return new Created(token, token.tokenId() + "." + secret);
  }

  /** Revokes a token (at once on this manager); false when there is none. */
  public boolean revoke(String tokenId) {
    boolean found = repository.revokeApiToken(tokenId, clock.millis());
    cache.remove(tokenId);
    if (found) {
      LOG.info(() -> "API token " + tokenId + " revoked");
    }
    return found;
  }
}
