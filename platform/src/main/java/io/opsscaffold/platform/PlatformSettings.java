package io.opsscaffold.platform;

import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.cluster.ClusterSettings;
import io.opsscaffold.manager.tls.TlsPolicy;
import io.opsscaffold.settings.Settings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The platform service's settings ({@code platform.yaml}; see the README's table), after the
 * platform integration guide's: etcd and the prefix to watch, how to call controllers, cache TTLs,
 * the worker limit.
 *
 * @param host the address the platform's API listens on
 * @param port its port (0: any free one)
 * @param dataDir where the bootstrap admin token and the self-made TLS material are kept
 * @param etcd how to reach etcd (endpoints, CA, client certificate, dial timeout, insecure)
 * @param watchPrefix the prefix controllers register under ({@code controllers/})
 * @param controller how controllers are called
 * @param agentsTtl an area's listing is refreshed when older than this, and called stale after it
 * @param controllersTtl a controller whose last heartbeat is older than this is treated as offline
 *     even while its key is in etcd
 * @param maxWorkers how many areas are called at once (listings, batches)
 * @param tls the platform's own server TLS ({@code tls.*} as the manager's)
 * @param tokensFile the platform's API tokens; empty = {@code <data-dir>/tokens}
 * @param otlpEndpoint where traces go
 */
public record PlatformSettings(
    String host,
    int port,
    Path dataDir,
    ClusterSettings etcd,
    String watchPrefix,
    Controllers controller,
    Duration agentsTtl,
    Duration controllersTtl,
    int maxWorkers,
    TlsPolicy tls,
    Optional<Path> tokensFile,
    Optional<String> otlpEndpoint) {

  /**
   * How the platform calls an area's controllers: each manager's API ({@code metadata.api} of its
   * registration) over gRPC, with a bearer token of that area.
   *
   * @param timeout one call's deadline
   * @param retries how many more times a read is tried (on the next controller of the area)
   * @param retryInterval the wait before a retry
   * @param caFile the CA that signs the controllers' certificates, unless the area has its own
   * @param caFiles per area
   * @param tokenFile the bearer token used with every area, unless the area has its own
   * @param tokenFiles per area
   * @param insecure plaintext to controllers on this machine's loopback only, asked for explicitly
   */
  public record Controllers(
      Duration timeout,
      int retries,
      Duration retryInterval,
      Optional<Path> caFile,
      Map<String, Path> caFiles,
      Optional<Path> tokenFile,
      Map<String, Path> tokenFiles,
      boolean insecure) {

    /** The CA for {@code area}'s controllers. */
    public Optional<Path> caFor(String area) {
      return Optional.ofNullable(caFiles.get(area)).or(() -> caFile);
    }

    /** The token file for {@code area}. */
    public Optional<Path> tokenFor(String area) {
      return Optional.ofNullable(tokenFiles.get(area)).or(() -> tokenFile);
    }
  }

  /** For tests: everything on loopback in plaintext, etcd at {@code endpoint}. */
  public static PlatformSettings loopback(URI etcdEndpoint, Path dataDir) {
    return new PlatformSettings(
        "127.0.0.1",
        0,
        dataDir,
        ClusterSettings.none().with(List.of(etcdEndpoint), "", "").plaintextOnLoopback(),
        ClusterSettings.DEFAULT_PREFIX,
        new Controllers(
            Duration.ofSeconds(10),
            1,
            Duration.ofMillis(200),
            Optional.empty(),
            Map.of(),
            Optional.empty(),
            Map.of(),
            true),
        Duration.ofSeconds(5),
        Duration.ofSeconds(30),
        8,
        TlsPolicy.insecure(dataDir),
        Optional.empty(),
        Optional.empty());
  }

  /** The same with these cache TTLs. */
  public PlatformSettings withTtls(Duration agents, Duration controllers) {
    return new PlatformSettings(
        host,
        port,
        dataDir,
        etcd,
        watchPrefix,
        controller,
        agents,
        controllers,
        maxWorkers,
        tls,
        tokensFile,
        otlpEndpoint);
  }

  /**
   * Reads and checks every key, reporting all problems at once.
   *
   * @throws io.opsscaffold.settings.SettingsException naming each bad key
   */
  public static PlatformSettings read(Settings s) {
    Path dataDir = Path.of(s.string("data-dir", "data/platform"));
    List<URI> endpoints = ManagerSettings.etcdEndpoints(s);
    if (endpoints.isEmpty()) {
      s.problem("etcd.endpoints", "is required: the platform discovers controllers in etcd");
    }
    ClusterSettings defaults = ClusterSettings.none();
    ClusterSettings etcd =
        new ClusterSettings(
            endpoints,
            path(s.string("etcd.ca-file", "")),
            path(s.string("etcd.cert-file", "")),
            path(s.string("etcd.key-file", "")),
            s.duration(
                "etcd.dial-timeout",
                defaults.dialTimeout(),
                Duration.ofMillis(100),
                Duration.ofMinutes(1)),
            defaults.leaseTtl(),
            "",
            "",
            Optional.empty(),
            defaults.refreshInterval(),
            defaults.prefix(),
            s.bool("etcd.insecure", false));
    String prefix = s.string("etcd.watch-prefix", ClusterSettings.DEFAULT_PREFIX);
    if (prefix.isBlank() || !prefix.endsWith("/")) {
      s.problem("etcd.watch-prefix", "must be a non-empty key prefix ending with '/'");
    }
    Settings c = s.section("controller");
    Controllers controllers =
        new Controllers(
            c.duration(
                "timeout", Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofMinutes(10)),
            c.integer("retries", 2, 0, 10),
            c.duration(
                "retry-interval", Duration.ofMillis(500), Duration.ZERO, Duration.ofMinutes(1)),
            path(c.string("ca-file", "")),
            paths(c.stringMap("ca-files")),
            path(c.string("token-file", "")),
            paths(c.stringMap("token-files")),
            c.bool("insecure", false));
    PlatformSettings settings =
        new PlatformSettings(
            s.string("server.host", "0.0.0.0"),
            s.integer("server.port", 8070, 0, 65535),
            dataDir,
            etcd,
            prefix,
            controllers,
            s.duration(
                "cache.agents-ttl",
                Duration.ofSeconds(10),
                Duration.ofMillis(100),
                Duration.ofHours(1)),
            s.duration(
                "cache.controllers-ttl",
                Duration.ofSeconds(60),
                Duration.ofSeconds(1),
                Duration.ofHours(1)),
            s.integer("workers.max", 16, 1, 1024),
            ManagerSettings.tls(s.section("tls"), dataDir, ""),
            path(s.string("auth.tokens-file", "")),
            Optional.of(s.string("telemetry.otlp-endpoint", "")).filter(e -> !e.isBlank()));
    s.finish();
    return settings;
  }

  private static Optional<Path> path(String p) {
    return p.isBlank() ? Optional.empty() : Optional.of(Path.of(p));
  }

  private static Map<String, Path> paths(Map<String, String> byArea) {
    Map<String, Path> out = new java.util.LinkedHashMap<>();
    byArea.forEach((area, p) -> out.put(area, Path.of(p)));
    return Map.copyOf(out);
  }
}
