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
 * @param tls how the port is protected: TLS with the manager's own CA by default
 * @param limits sizes a client controls, bounded
 * @param cluster etcd and the area's other managers; none by default
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
    Optional<java.net.URI> alertWebhook,
    io.opsscaffold.manager.tls.TlsPolicy tls,
    ManagerSettings.Limits limits,
    io.opsscaffold.manager.cluster.ClusterSettings cluster) {

  /**
   * Bounds on what one request may ask for.
   *
   * @param maxRequestBytes the largest HTTP request body (413 beyond it); gRPC messages are bounded
   *     by the server at 2 MiB
   * @param maxBatchTargets the most agents one batch or config push may reach
   * @param maxStreamsPerToken the most watches and log follows one credential may hold open
   */
  public record Limits(long maxRequestBytes, int maxBatchTargets, int maxStreamsPerToken) {
    public static final Limits DEFAULT =
        new Limits(
            4L * 1024 * 1024,
            io.opsscaffold.manager.operations.BatchOperations.DEFAULT_MAX_TARGETS,
            64);

    public Limits(long maxRequestBytes, int maxBatchTargets) {
      this(maxRequestBytes, maxBatchTargets, DEFAULT.maxStreamsPerToken());
    }
  }

  /** Alone (no etcd). */
  public ManagerSettings(
      String host,
      int port,
      DatabaseSettings database,
      Duration pingInterval,
      Duration offlineGrace,
      Duration operationTimeout,
      Optional<String> otlpEndpoint,
      Duration alertScanInterval,
      Optional<java.net.URI> alertWebhook,
      io.opsscaffold.manager.tls.TlsPolicy tls,
      Limits limits) {
    this(
        host,
        port,
        database,
        pingInterval,
        offlineGrace,
        operationTimeout,
        otlpEndpoint,
        alertScanInterval,
        alertWebhook,
        tls,
        limits,
        io.opsscaffold.manager.cluster.ClusterSettings.none());
  }

  /** These settings, on etcd as {@code cluster} says. */
  public ManagerSettings withCluster(io.opsscaffold.manager.cluster.ClusterSettings cluster) {
    return new ManagerSettings(
        host,
        port,
        database,
        pingInterval,
        offlineGrace,
        operationTimeout,
        otlpEndpoint,
        alertScanInterval,
        alertWebhook,
        tls,
        limits,
        cluster);
  }

  /** With the default limits. */
  public ManagerSettings(
      String host,
      int port,
      DatabaseSettings database,
      Duration pingInterval,
      Duration offlineGrace,
      Duration operationTimeout,
      Optional<String> otlpEndpoint,
      Duration alertScanInterval,
      Optional<java.net.URI> alertWebhook,
      io.opsscaffold.manager.tls.TlsPolicy tls) {
    this(
        host,
        port,
        database,
        pingInterval,
        offlineGrace,
        operationTimeout,
        otlpEndpoint,
        alertScanInterval,
        alertWebhook,
        tls,
        Limits.DEFAULT);
  }

  /** Settings for tests: alerts scanned every second, no webhook, plaintext on loopback. */
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
        Optional.empty(),
        io.opsscaffold.manager.tls.TlsPolicy.insecure(database.dataDir()));
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
                dataDir,
                db.duration(
                    "connect-timeout",
                    Duration.ofSeconds(2),
                    Duration.ofMillis(250),
                    Duration.ofMinutes(1))),
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
            webhook(s),
            tls(s.section("tls"), dataDir, s.string("enrollment.token-file", "")),
            new Limits(
                s.bytes(
                    "limits.max-request-bytes",
                    Limits.DEFAULT.maxRequestBytes(),
                    1024,
                    1024L * 1024 * 1024),
                s.integer(
                    "limits.max-batch-targets", Limits.DEFAULT.maxBatchTargets(), 1, 1_000_000),
                s.integer(
                    "limits.max-streams-per-token",
                    Limits.DEFAULT.maxStreamsPerToken(),
                    1,
                    100_000)),
            cluster(s));
    s.finish();
    return settings;
  }

  /** {@code etcd.endpoints}: URLs with a host and a port (the scheme is checked on connecting). */
  public static java.util.List<java.net.URI> etcdEndpoints(Settings s) {
    java.util.List<java.net.URI> endpoints = new java.util.ArrayList<>();
    for (String e : s.strings("etcd.endpoints")) {
      try {
        java.net.URI u = new java.net.URI(e.trim());
        if (u.getHost() == null || u.getPort() < 0) {
          s.problem("etcd.endpoints", e + " is not a URL with a host and a port");
        } else {
          endpoints.add(u);
        }
      } catch (java.net.URISyntaxException x) {
        s.problem("etcd.endpoints", e + " is not a URL");
      }
    }
    return endpoints;
  }

  /** {@code etcd.*} and {@code cluster.*}: see the README's table. */
  private static io.opsscaffold.manager.cluster.ClusterSettings cluster(Settings s) {
    var defaults = io.opsscaffold.manager.cluster.ClusterSettings.none();
    java.util.List<java.net.URI> endpoints = etcdEndpoints(s);
    String advertise = s.string("cluster.advertise-url", "");
    Optional<java.net.URI> advertiseUrl = Optional.empty();
    if (!advertise.isBlank()) {
      try {
        advertiseUrl = Optional.of(new java.net.URI(advertise.replaceAll("/+$", "")));
      } catch (java.net.URISyntaxException x) {
        s.problem("cluster.advertise-url", advertise + " is not a URL");
      }
    }
    String area = s.string("cluster.area", defaults.area());
    if (!area.matches("[A-Za-z0-9._-]{1,64}")) {
      s.problem("cluster.area", "must be 1-64 letters, digits, '.', '_' or '-'");
    }
    String id = s.string("cluster.manager-id", "");
    if (!id.isEmpty() && !id.matches("[A-Za-z0-9._-]{1,128}")) {
      s.problem("cluster.manager-id", "must be 1-128 letters, digits, '.', '_' or '-'");
    }
    return new io.opsscaffold.manager.cluster.ClusterSettings(
        endpoints,
        optionalPath(s.string("etcd.ca-file", "")),
        optionalPath(s.string("etcd.cert-file", "")),
        optionalPath(s.string("etcd.key-file", "")),
        s.duration(
            "etcd.dial-timeout",
            defaults.dialTimeout(),
            Duration.ofMillis(100),
            Duration.ofMinutes(1)),
        s.duration(
            "etcd.lease-ttl", defaults.leaseTtl(), Duration.ofSeconds(2), Duration.ofMinutes(10)),
        area,
        id,
        advertiseUrl,
        s.duration(
            "cluster.refresh-interval",
            defaults.refreshInterval(),
            Duration.ofSeconds(1),
            Duration.ofMinutes(10)),
        defaults.prefix(),
        s.bool("etcd.insecure", false));
  }

  private static Optional<Path> optionalPath(String p) {
    return p.isBlank() ? Optional.empty() : Optional.of(Path.of(p));
  }

  /** {@code tls.*}: see the README's table. */
  public static io.opsscaffold.manager.tls.TlsPolicy tls(
      Settings t, Path dataDir, String enrollmentTokenFile) {
    String cert = t.string("cert-file", "");
    String key = t.string("key-file", "");
    if (cert.isBlank() != key.isBlank()) {
      t.problem(
          cert.isBlank() ? "cert-file" : "key-file",
          "is required with tls." + (cert.isBlank() ? "key-file" : "cert-file"));
    }
    return new io.opsscaffold.manager.tls.TlsPolicy(
        t.bool("insecure", false),
        Path.of(t.string("dir", dataDir.resolve("tls").toString())),
        Optional.of(cert).filter(c -> !c.isBlank()).map(Path::of),
        Optional.of(key).filter(k -> !k.isBlank()).map(Path::of),
        t.strings("names"),
        t.duration(
            "server-cert-validity",
            Duration.ofDays(365),
            Duration.ofDays(1),
            Duration.ofDays(3650)),
        t.duration(
            "node-cert-validity",
            io.opsscaffold.manager.tls.TlsPolicy.NODE_VALIDITY,
            Duration.ofSeconds(10),
            Duration.ofDays(365)),
        Optional.of(enrollmentTokenFile).filter(f -> !f.isBlank()).map(Path::of),
        Optional.of(t.string("ca-export", "")).filter(e -> !e.isBlank()).map(Path::of));
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
