package io.opsscaffold.manager;

import io.opsscaffold.manager.persistence.DatabaseSettings;
import io.opsscaffold.settings.Settings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The manager's configuration, read once in {@link ManagerMain}.
 *
 * @param host interface to listen on
 * @param port port for gRPC and HTTP/JSON (0 picks a free one)
 * @param database where the data lives
 * @param pingInterval how often daemons must send something; silent for 3 intervals = dropped
 * @param offlineGrace how long a node stays ONLINE after its stream ends
 * @param operationTimeout default wait for a daemon's answer to a command
 * @param otlpEndpoint OTLP endpoint for traces; empty = from OTEL_* variables, or off
 * @param alertScanInterval how often availability is re-judged for alerts (also after each commit)
 * @param alertWebhook where alert events are posted, if anywhere
 */
public record ManagerSettings(
    String host,
    int port,
    DatabaseSettings database,
    Duration pingInterval,
    Duration offlineGrace,
    Duration operationTimeout,
    Optional<String> otlpEndpoint,
    Duration alertScanInterval,
    Optional<java.net.URI> alertWebhook) {

  /** Settings for tests: alerts scanned every second, no webhook. */
  public ManagerSettings(
      String host,
      int port,
      DatabaseSettings database,
      Duration pingInterval,
      Duration offlineGrace,
      Duration operationTimeout,
      Optional<String> otlpEndpoint) {
    this(
        host,
        port,
        database,
        pingInterval,
        offlineGrace,
        operationTimeout,
        otlpEndpoint,
        Duration.ofSeconds(1),
        Optional.empty());
  }

  /** Reads every key (see the README's table); throws SettingsException naming each bad one. */
  public static ManagerSettings read(Settings s) {
    Path dataDir = Path.of(s.string("data-dir", "data/manager"));
    Settings db = s.section("database");
    String url = db.string("url", "");
    ManagerSettings settings =
        new ManagerSettings(
            s.string("server.host", "0.0.0.0"),
            s.integer("server.port", 8080, 0, 65535),
            new DatabaseSettings(
                url.isBlank() ? Optional.empty() : Optional.of(url),
                db.string("username", url.isBlank() ? "sa" : ""),
                db.string("password", ""),
                db.integer("pool-size", 10, 1, 200),
                dataDir),
            s.duration(
                "link.ping-interval",
                Duration.ofSeconds(10),
                Duration.ofMillis(100),
                Duration.ofMinutes(5)),
            s.duration(
                "link.offline-grace",
                Duration.ofSeconds(30),
                Duration.ofMillis(100),
                Duration.ofHours(1)),
            s.duration(
                "operations.default-timeout",
                Duration.ofSeconds(30),
                Duration.ofSeconds(1),
                Duration.ofMinutes(5)),
            Optional.of(s.string("telemetry.otlp-endpoint", "")).filter(e -> !e.isBlank()),
            s.duration(
                "alerts.scan-interval",
                Duration.ofSeconds(2),
                Duration.ofMillis(100),
                Duration.ofMinutes(10)),
            webhook(s));
    s.finish();
    return settings;
  }

  private static Optional<java.net.URI> webhook(Settings s) {
    String url = s.string("alerts.webhook-url", "");
    if (url.isBlank()) {
      return Optional.empty();
    }
    try {
      java.net.URI uri = java.net.URI.create(url);
      if ((uri.getScheme() != null && uri.getScheme().startsWith("http"))
          && uri.getHost() != null) {
        return Optional.of(uri);
      }
    } catch (IllegalArgumentException e) {
      // reported below
    }
    s.problem("alerts.webhook-url", "must be an http:// or https:// URL (got '" + url + "')");
    return Optional.empty();
  }
}
