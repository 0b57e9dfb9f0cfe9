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

  private final IdentityRepository repository;
  private final Clock clock;

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

  /** The principal {@code bearer} proves, if it is a usable token. */
  public Optional<Principal> authenticate(String bearer) {
    Matcher m = FORM.matcher(bearer.strip());
    if (!m.matches()) {
      return Optional.empty();
    }
    long now = clock.millis();
    Optional<ApiToken> token =
        repository
            .apiToken(m.group(1))
            .filter(t -> Secrets.matches(t.secretHash(), m.group(2)))
            .filter(t -> t.usable(now));
    token.ifPresent(
        t -> {
          if (now - t.lastUsedMs() >= TOUCH_EVERY_MS) {
            repository.touchApiToken(t.tokenId(), now);
          }
        });
    return token.map(t -> new Principal(t.tokenId(), t.name(), t.role(), t.areas()));
  }
}
