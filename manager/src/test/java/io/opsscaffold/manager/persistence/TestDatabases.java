package io.opsscaffold.manager.persistence;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.UUID;

/**
 * Databases for tests: a fresh PostgreSQL database per call (created and dropped here), and a fresh
 * embedded H2 file. PostgreSQL is found at {@code OPS_TEST_PG_URL} (default {@code
 * jdbc:postgresql://127.0.0.1:5432/}) as {@code OPS_TEST_PG_USER} (default {@code postgres});
 * {@code .ci/run} makes sure it is running.
 */
public final class TestDatabases {
  private TestDatabases() {}

  /** A PostgreSQL database that exists until {@link Created#close()}. */
  public record Created(String url, String user, String name, Runnable dropper)
      implements AutoCloseable {
    public DatabaseSettings settings(Path dataDir) {
      return new DatabaseSettings(Optional.of(url), user, "", 4, dataDir);
    }

    @Override
    public void close() {
      dropper.run();
    }
  }

  public static String pgBaseUrl() {
    String url =
        System.getenv().getOrDefault("OPS_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/");
    return url.endsWith("/") ? url : url + "/";
  }

  public static String pgUser() {
    return System.getenv().getOrDefault("OPS_TEST_PG_USER", "postgres");
  }

  /**
   * Creates a new, empty PostgreSQL database; fails with a clear message when none is reachable.
   */
  public static Created postgres() {
    String name = "ops_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    String admin = pgBaseUrl() + "postgres";
    try (Connection c = DriverManager.getConnection(admin, pgUser(), "");
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "PostgreSQL is needed for this test but "
              + admin
              + " (user "
              + pgUser()
              + ") is not reachable: "
              + e.getMessage()
              + ". Start it (see .ci/run) or set OPS_TEST_PG_URL / OPS_TEST_PG_USER.",
          e);
    }
    return new Created(
        pgBaseUrl() + name,
        pgUser(),
        name,
        () -> {
          try (Connection c = DriverManager.getConnection(admin, pgUser(), "");
              Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
          } catch (SQLException e) {
            throw new IllegalStateException("could not drop test database " + name, e);
          }
        });
  }

  /** Settings for a fresh embedded H2 database under a new temporary directory. */
  public static DatabaseSettings h2() {
    try {
      return new DatabaseSettings(
          Optional.empty(), "sa", "", 4, Files.createTempDirectory("ops-h2-"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
