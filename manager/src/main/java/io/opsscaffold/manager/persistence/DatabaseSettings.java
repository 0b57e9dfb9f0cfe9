package io.opsscaffold.manager.persistence;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the manager keeps its data.
 *
 * @param url a JDBC URL (PostgreSQL in production); empty means the embedded H2 database file under
 *     {@code dataDir}
 * @param username database user
 * @param password database password
 * @param poolSize maximum pooled connections
 * @param dataDir directory for the embedded database
 * @param connectTimeout how long a call waits for a connection before it is answered UNAVAILABLE (a
 *     database that is down makes callers wait this long, not half a minute)
 */
public record DatabaseSettings(
    Optional<String> url,
    String username,
    String password,
    int poolSize,
    Path dataDir,
    java.time.Duration connectTimeout) {

  /** With the default connect timeout, 2 s. */
  public DatabaseSettings(
      Optional<String> url, String username, String password, int poolSize, Path dataDir) {
    this(url, username, password, poolSize, dataDir, java.time.Duration.ofSeconds(2));
  }
}
