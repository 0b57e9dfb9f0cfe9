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
 */
public record DatabaseSettings(
    Optional<String> url, String username, String password, int poolSize, Path dataDir) {}
