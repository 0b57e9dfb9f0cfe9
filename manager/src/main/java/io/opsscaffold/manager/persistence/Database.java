package io.opsscaffold.manager.persistence;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;

/**
 * The manager's connection pool, migrated to the current schema on open.
 *
 * <p>PostgreSQL when a URL is configured; otherwise an embedded H2 file in PostgreSQL mode under
 * the data directory, so a first run needs nothing installed. Both run the same migrations ({@code
 * db/migration/common}) plus a vendor folder for what only one of them supports.
 */
public final class Database implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Database.class.getName());

  private final HikariDataSource dataSource;
  private final String vendor;

  private Database(HikariDataSource dataSource, String vendor) {
    this.dataSource = dataSource;
    this.vendor = vendor;
  }

  /** Opens the pool and migrates the schema; throws if the database is unreachable. */
  public static Database open(DatabaseSettings settings) {
    HikariConfig config = new HikariConfig();
    String url =
        settings
            .url()
            .filter(u -> !u.isBlank())
            .orElseGet(
                () ->
                    "jdbc:h2:file:"
                        + settings.dataDir().toAbsolutePath().resolve("manager")
                        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH");
    config.setJdbcUrl(url);
    config.setUsername(settings.username());
    config.setPassword(settings.password());
    config.setMaximumPoolSize(settings.poolSize());
    config.setConnectionTimeout(settings.connectTimeout().toMillis());
    config.setValidationTimeout(Math.min(1000, settings.connectTimeout().toMillis() / 2));
    config.setPoolName("manager-db");
    config.setAutoCommit(true);
    String vendor = url.startsWith("jdbc:h2:") ? "h2" : "postgresql";
    if (vendor.equals("postgresql")) {
      // Plan every execution for its own parameters. The hot MERGEs carry one row or thousands,
      // and the generic plan PostgreSQL otherwise caches after five executions is built for
      // whatever the tables held then: cached while the fleet was empty, it scanned every agent
      // for each delta once the fleet had grown. Planning a MERGE costs far less than that scan.
      config.setConnectionInitSql("SET plan_cache_mode = force_custom_plan");
    }
    HikariDataSource dataSource = new HikariDataSource(config);
    Flyway.configure()
        .dataSource(dataSource)
        .locations("classpath:db/migration/common", "classpath:db/migration/" + vendor)
        .load()
        .migrate();
    LOG.info(() -> "database ready: " + vendor + " at " + redact(url));
    return new Database(dataSource, vendor);
  }

  public DataSource dataSource() {
    return dataSource;
  }

  /** "postgresql" or "h2". */
  public String vendor() {
    return vendor;
  }

  public Connection connection() throws SQLException {
    return dataSource.getConnection();
  }

  /**
   * A connection of its own, outside the pool, for a listener that holds it for as long as it lives
   * (PostgreSQL's LISTEN is per connection). Bounded by the pool's connection timeout.
   */
  public Connection dedicatedConnection() throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", dataSource.getUsername());
    p.setProperty("password", java.util.Objects.requireNonNullElse(dataSource.getPassword(), ""));
    p.setProperty(
        "connectTimeout", String.valueOf(Math.max(1, dataSource.getConnectionTimeout() / 1000)));
    p.setProperty("tcpKeepAlive", "true");
    return java.sql.DriverManager.getConnection(dataSource.getJdbcUrl(), p);
  }

  @Override
  public void close() {
    dataSource.close();
  }

  private static String redact(String url) {
    return url.replaceAll("password=[^&;]*", "password=***");
  }
}
