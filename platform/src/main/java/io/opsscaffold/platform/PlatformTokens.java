package io.opsscaffold.platform;

import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.manager.identity.Principal;
import io.opsscaffold.manager.identity.Role;
import io.opsscaffold.security.Secrets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The platform's API tokens, kept in a file so that the platform stays stateless and every replica
 * reads the same: one line per token, {@code <id> <role> <sha256 of the secret> <name>}, with
 * {@code #} comments. Tokens are {@code <id>.<secret>} as the manager's, and roles are the
 * manager's. The file is read again when it changes (its time looked at once a second); a file that
 * cannot be read keeps the tokens read before. On a first start without a file the platform writes
 * one holding a bootstrap admin token, whose secret goes to a 0600 file in the data directory
 * (never to the log). Thread-safe.
 */
final class PlatformTokens {
  private static final Logger LOG = Logger.getLogger(PlatformTokens.class.getName());
  private static final Pattern FORM = Pattern.compile("([a-z0-9]{4,32})\\.([A-Za-z0-9_-]{20,128})");
  private static final Pattern LINE =
      Pattern.compile("([a-z0-9]{4,32})\\s+(viewer|operator|admin)\\s+([0-9a-f]{64})\\s*(.*)");

  private record Entry(String id, Role role, String hash, String name) {}

  private final Path file;
  private volatile Map<String, Entry> tokens = Map.of();
  private volatile long readModified = -1;
  private volatile long checkedNanos;
  private static final long CHECK_EVERY_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

  private PlatformTokens(Path file) {
    this.file = file;
  }

  /**
   * The tokens of {@code file}; when it does not exist, creates it with a bootstrap admin token
   * written to {@code adminTokenFile}.
   *
   * @throws IllegalArgumentException naming the file when a line is not a token entry
   */
  static PlatformTokens open(Path file, Path adminTokenFile) {
    if (!Files.exists(file)) {
      String id = Secrets.id(10);
      String secret = Secrets.secret();
      try {
        Files.createDirectories(file.toAbsolutePath().getParent());
        AtomicFiles.write(
            adminTokenFile,
            (id + "." + secret + "\n").getBytes(StandardCharsets.UTF_8),
            PosixFilePermissions.fromString("rw-------"));
        AtomicFiles.write(
            file,
            ("# <id> <role> <sha256 of the secret> <name>: the platform's API tokens\n"
                    + line(id, Role.ADMIN, Secrets.hash(secret), "bootstrap-admin"))
                .getBytes(StandardCharsets.UTF_8),
            PosixFilePermissions.fromString("rw-------"));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the platform's tokens to " + file, e);
      }
      LOG.warning(
          () ->
              "created the platform's bootstrap admin token "
                  + id
                  + " and wrote it to "
                  + adminTokenFile
                  + " (readable by this user only); send it as 'Authorization: Bearer <token>'");
    }
    PlatformTokens t = new PlatformTokens(file);
    t.reload(true);
    return t;
  }

  /** A tokens-file line. */
  static String line(String id, Role role, String hash, String name) {
    return id + " " + role.text() + " " + hash + " " + name + "\n";
  }

  /** Appends a new token to {@code file}; returns the token (shown once). */
  static String add(Path file, String name, Role role) throws IOException {
    String id = Secrets.id(10);
    String secret = Secrets.secret();
    String existing = Files.exists(file) ? Files.readString(file) : "";
    if (!existing.isEmpty() && !existing.endsWith("\n")) {
      existing += "\n";
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    AtomicFiles.write(
        file,
        (existing + line(id, role, Secrets.hash(secret), name)).getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-------"));
    return id + "." + secret;
  }

  /** Who {@code bearer} proves, if it is one of the file's tokens. */
  Optional<Principal> authenticate(String bearer) {
    reload(false);
    Matcher m = FORM.matcher(bearer.strip());
    if (!m.matches()) {
      return Optional.empty();
    }
    Entry e = tokens.get(m.group(1));
    if (e == null || !Secrets.matches(e.hash(), m.group(2))) {
      return Optional.empty();
    }
    return Optional.of(new Principal(e.id(), e.name(), e.role(), List.of()));
  }

  private void reload(boolean strict) {
    long now = System.nanoTime();
    if (!strict && now - checkedNanos < CHECK_EVERY_NANOS) {
      return; // the file's time is looked at once a second, not on every call
    }
    checkedNanos = now;
    try {
      long modified = Files.getLastModifiedTime(file).toMillis();
      if (modified == readModified) {
        return;
      }
      Map<String, Entry> read = new HashMap<>();
      int n = 0;
      for (String raw : Files.readAllLines(file)) {
        n++;
        String l = raw.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        Matcher m = LINE.matcher(l);
        if (!m.matches()) {
          String problem = file + " line " + n + ": not '<id> <role> <sha256> <name>'";
          if (strict) {
            throw new IllegalArgumentException("auth.tokens-file: " + problem);
          }
          LOG.warning(problem + "; keeping the tokens read before");
          return;
        }
        read.put(
            m.group(1),
            new Entry(m.group(1), Role.parse(m.group(2)).orElseThrow(), m.group(3), m.group(4)));
      }
      tokens = Map.copyOf(read);
      readModified = modified;
    } catch (IOException e) {
      if (strict) {
        throw new IllegalArgumentException("auth.tokens-file: " + file + " cannot be read", e);
      }
      LOG.warning(file + " cannot be read now; keeping the tokens read before");
    }
  }
}
