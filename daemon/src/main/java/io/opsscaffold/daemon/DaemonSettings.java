package io.opsscaffold.daemon;

import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.link.LinkPolicy;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.daemon.supervision.AgentSpec;
import io.opsscaffold.daemon.supervision.ConfigPolicy;
import io.opsscaffold.daemon.supervision.RunAs;
import io.opsscaffold.settings.Settings;
import java.io.File;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The daemon's configuration ({@code daemon.yaml}), read once in {@link DaemonMain}.
 *
 * @param labels area, zone, cloud-id, business, and free labels under {@code extra}
 * @param enrollmentToken the token this node enrolls with when it has no certificate yet
 * @param enrollmentTokenFile a file to read that token from at enrollment (it may appear later)
 * @param localApi where the local API is served
 */
public record DaemonSettings(
    String nodeId,
    String hostname,
    String ip,
    String area,
    String zone,
    long cloudId,
    String business,
    Map<String, String> extraLabels,
    LinkPolicy link,
    String host,
    int port,
    Optional<Path> socket,
    LocalApi localApi,
    Path dataDir,
    boolean stopAgentsOnExit,
    Optional<String> otlpEndpoint,
    Duration monitorInterval,
    List<AgentSpec> agents,
    Optional<io.opsscaffold.security.JoinToken> enrollmentToken,
    Optional<Path> enrollmentTokenFile) {

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  /**
   * {@code manager.tls}: the manager's CA from {@code ca-file}, or pinned by {@code ca-fingerprint}
   * (fetched on first contact, kept in {@code <data-dir>/tls/manager-ca.crt}), or {@code insecure}
   * for a manager on a loopback address; with none of them, a CA kept from an earlier pin.
   */
  private static io.opsscaffold.daemon.link.ManagerTrust trust(
      Settings s, Path dataDir, Optional<io.opsscaffold.security.JoinToken> token) {
    Settings t = s.section("manager.tls");
    String caFile = t.string("ca-file", "");
    String fingerprint = t.string("ca-fingerprint", "");
    Optional<String> carried = token.flatMap(io.opsscaffold.security.JoinToken::caFingerprint);
    if (carried.isPresent() && !fingerprint.isBlank()) {
      try {
        if (!io.opsscaffold.security.Fingerprints.parse(fingerprint).equals(carried.get())) {
          t.problem(
              "ca-fingerprint",
              "differs from the CA fingerprint the enrollment token carries; give one of them");
        }
      } catch (IllegalArgumentException e) {
        // reported below
      }
    }
    if (carried.isPresent() && fingerprint.isBlank() && caFile.isBlank()) {
      fingerprint = carried.get();
    }
    boolean insecure = t.bool("insecure", false);
    Path kept = dataDir.resolve("tls").resolve("manager-ca.crt");
    int given = (caFile.isBlank() ? 0 : 1) + (fingerprint.isBlank() ? 0 : 1) + (insecure ? 1 : 0);
    if (given > 1) {
      t.problem("", "give one of ca-file, ca-fingerprint and insecure, not several");
    }
    if (insecure) {
      for (String address : managerAddress(s).split(",")) {
        String host = java.net.URI.create("tcp://" + address).getHost();
        if (host == null || !loopback(host)) {
          t.problem(
              "insecure",
              "plaintext is only allowed to a manager on a loopback address (manager.address has "
                  + address
                  + ")");
        }
      }
      return new io.opsscaffold.daemon.link.ManagerTrust.Insecure();
    }
    if (!caFile.isBlank()) {
      // Read when the link connects: a deployment may put it there after the daemon starts.
      return new io.opsscaffold.daemon.link.ManagerTrust.CaFile(Path.of(caFile));
    }
    if (!fingerprint.isBlank()) {
      try {
        return new io.opsscaffold.daemon.link.ManagerTrust.Pinned(
            io.opsscaffold.security.Fingerprints.parse(fingerprint), kept);
      } catch (IllegalArgumentException e) {
        t.problem("ca-fingerprint", e.getMessage());
        return new io.opsscaffold.daemon.link.ManagerTrust.Insecure();
      }
    }
    if (java.nio.file.Files.isRegularFile(kept)) {
      return new io.opsscaffold.daemon.link.ManagerTrust.CaFile(kept);
    }
    t.problem(
        "",
        "the daemon needs to know its manager: set ca-file (the manager's tls.dir/ca.crt), or"
            + " ca-fingerprint (the manager prints it at start), or insecure: true for a manager on this machine");
    return new io.opsscaffold.daemon.link.ManagerTrust.Insecure();
  }

  /** {@code manager.enrollment-token}; a malformed one is a problem named without its text. */
  private static Optional<io.opsscaffold.security.JoinToken> enrollmentToken(Settings s) {
    String text = s.string("manager.enrollment-token", "");
    if (text.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.of(io.opsscaffold.security.JoinToken.parse(text));
    } catch (IllegalArgumentException e) {
      s.problem("manager.enrollment-token", e.getMessage());
      return Optional.empty();
    }
  }

  private static boolean loopback(String host) {
    try {
      return java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** Reads and checks every key; throws SettingsException listing each problem by key. */
  public static DaemonSettings read(Settings s) {
    String detectedHost = detectHostname();
    String nodeId = s.string("node.id", detectedHost);
    if (!ID.matcher(nodeId).matches()) {
      s.problem("node.id", "must be 1 to 128 characters of [A-Za-z0-9._-] (got '" + nodeId + "')");
    }
    Settings labels = s.section("node.labels");
    Path dataDir = Path.of(s.string("data-dir", "data/daemon"));
    Optional<io.opsscaffold.security.JoinToken> enrollmentToken = enrollmentToken(s);
    LinkPolicy link =
        new LinkPolicy(
            managerAddress(s),
            s.duration(
                "manager.reconnect-initial",
                Duration.ofMillis(500),
                Duration.ofMillis(10),
                Duration.ofMinutes(1)),
            s.duration(
                "manager.reconnect-max",
                Duration.ofSeconds(5),
                Duration.ofMillis(100),
                Duration.ofMinutes(10)),
            s.duration(
                "manager.ping-interval",
                Duration.ofSeconds(10),
                Duration.ofMillis(100),
                Duration.ofMinutes(5)),
            s.duration(
                "manager.coalesce", Duration.ofMillis(2), Duration.ZERO, Duration.ofSeconds(1)),
            s.duration(
                "manager.stats-interval",
                Duration.ofSeconds(30),
                Duration.ofMillis(200),
                Duration.ofHours(1)),
            trust(s, dataDir, enrollmentToken));
    DaemonSettings settings =
        new DaemonSettings(
            nodeId,
            s.string("node.hostname", detectedHost),
            s.string("node.ip", detectIp()),
            labels.string("area", ""),
            labels.string("zone", ""),
            labels.longValue("cloud-id", 0),
            labels.string("business", ""),
            labels.stringMap("extra"),
            link,
            s.string("server.host", "127.0.0.1"),
            s.integer("server.port", 8090, 0, 65535),
            socket(s, dataDir),
            localApi(s, dataDir),
            dataDir,
            s.bool("stop-agents-on-exit", true),
            Optional.of(s.string("telemetry.otlp-endpoint", "")).filter(e -> !e.isBlank()),
            s.duration(
                "monitor.interval",
                Duration.ofSeconds(5),
                Duration.ofMillis(200),
                Duration.ofMinutes(10)),
            agents(s),
            enrollmentToken,
            Optional.of(s.string("manager.enrollment-token-file", ""))
                .filter(f -> !f.isBlank())
                .map(Path::of));
    s.finish();
    return settings;
  }

  /**
   * The settings other than the agents that differ from {@code next}: they need a daemon restart.
   */
  public List<String> needsRestart(DaemonSettings next) {
    List<String> keys = new ArrayList<>();
    if (!nodeId.equals(next.nodeId) || !hostname.equals(next.hostname) || !ip.equals(next.ip)) {
      keys.add("node");
    }
    if (!area.equals(next.area)
        || !zone.equals(next.zone)
        || cloudId != next.cloudId
        || !business.equals(next.business)
        || !extraLabels.equals(next.extraLabels)) {
      keys.add("node.labels");
    }
    if (!link.equals(next.link)) {
      keys.add("manager");
    }
    if (!host.equals(next.host) || port != next.port || !socket.equals(next.socket)) {
      keys.add("server");
    }
    if (!dataDir.equals(next.dataDir)) {
      keys.add("data-dir");
    }
    if (stopAgentsOnExit != next.stopAgentsOnExit) {
      keys.add("stop-agents-on-exit");
    }
    if (!otlpEndpoint.equals(next.otlpEndpoint)) {
      keys.add("telemetry");
    }
    if (!monitorInterval.equals(next.monitorInterval)) {
      keys.add("monitor.interval");
    }
    return keys;
  }

  /**
   * Where the local API (stop, restart, reload, logs, metrics) is served.
   *
   * @param socket the Unix socket ({@code server.api-socket}, default {@code <data-dir>/api.sock},
   *     mode 0600): who can open it may use the API, nobody else
   * @param tcp whether the TCP port serves it too ({@code server.local-api-tcp}, default false),
   *     then to callers with the token in {@code <data-dir>/local-api.token}
   */
  public record LocalApi(Optional<Path> socket, boolean tcp) {}

  private static LocalApi localApi(Settings s, Path dataDir) {
    String text = s.string("server.api-socket", dataDir.resolve("api.sock").toString());
    Optional<Path> path = Optional.empty();
    if (!text.equals("none") && !text.isBlank()) {
      if (text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 100) {
        s.problem(
            "server.api-socket",
            "a Unix socket path must be at most 100 bytes (got " + text.length() + ")");
      }
      path = Optional.of(Path.of(text));
    }
    return new LocalApi(path, s.bool("server.local-api-tcp", false));
  }

  /** {@code server.socket}: default {@code <data-dir>/daemon.sock}; "none" turns it off. */
  private static Optional<Path> socket(Settings s, Path dataDir) {
    String text = s.string("server.socket", dataDir.resolve("daemon.sock").toString());
    if (text.equals("none") || text.isBlank()) {
      return Optional.empty();
    }
    if (text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 100) {
      s.problem(
          "server.socket",
          "a Unix socket path must be at most 100 bytes (got " + text.length() + ")");
    }
    return Optional.of(Path.of(text));
  }

  private static List<AgentSpec> agents(Settings s) {
    List<Settings> items = s.list("agents");
    if (items.isEmpty() && s.has("agent")) {
      items = List.of(s.section("agent"));
    }
    List<AgentSpec> specs = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (Settings a : items) {
      String id = a.requiredString("id");
      if (!id.isEmpty() && !ID.matcher(id).matches()) {
        a.problem("id", "must be 1 to 128 characters of [A-Za-z0-9._-] (got '" + id + "')");
      }
      if (!id.isEmpty() && !ids.add(id)) {
        a.problem("id", "duplicate agent id '" + id + "'");
      }
      String command = a.requiredString("command");
      if (!command.isEmpty() && !executable(command)) {
        a.problem("command", "'" + command + "' is not an executable file or on the PATH");
      }
      Path workingDir = Path.of(a.string("working-dir", "."));
      if (!Files.isDirectory(workingDir)) {
        a.problem("working-dir", "directory '" + workingDir + "' does not exist");
      }
      Settings restart = a.section("restart");
      RestartPolicy defaults = RestartPolicy.defaults();
      specs.add(
          new AgentSpec(
              id,
              a.string("type", "generic"),
              command,
              a.strings("args"),
              workingDir,
              a.stringMap("env"),
              new RestartPolicy(
                  RestartPolicy.Mode.fromConfig(
                      restart.oneOf(
                          "policy",
                          defaults.mode().configName(),
                          RestartPolicy.Mode.configNames())),
                  restart.duration(
                      "initial-delay", defaults.initialDelay(), Duration.ZERO, Duration.ofHours(1)),
                  multiplier(restart),
                  restart.duration(
                      "max-delay", defaults.maxDelay(), Duration.ZERO, Duration.ofDays(1)),
                  restart.duration(
                      "reset-after", defaults.resetAfter(), Duration.ZERO, Duration.ofDays(7)),
                  restart.integer("crash-loop-after", defaults.crashLoopAfter(), 1, 1000)),
              health(a),
              a.duration(
                  "stop-timeout", Duration.ofSeconds(10), Duration.ZERO, Duration.ofMinutes(10)),
              a.bool("autostart", true),
              a.duration(
                  "start-seconds", Duration.ofSeconds(1), Duration.ZERO, Duration.ofMinutes(10)),
              a.oneOf("stop-signal", "TERM", AgentSpec.STOP_SIGNALS),
              new LogPolicy(
                  a.bytes("log.max-bytes", LogPolicy.defaults().maxBytes(), 1024, 1L << 40),
                  a.integer("log.backups", LogPolicy.defaults().backups(), 0, 100)),
              config(a, command, workingDir, s),
              runAs(a)));
    }
    return specs;
  }

  /**
   * {@code user}: the user (and {@code :group}) the agent runs as. Another user than the daemon's
   * needs a daemon running as root.
   */
  private static Optional<RunAs> runAs(Settings a) {
    String text = a.string("user", "");
    if (text.isBlank()) {
      return Optional.empty();
    }
    RunAs runAs;
    try {
      runAs = RunAs.resolve(text.strip(), Path.of("/etc/passwd"), Path.of("/etc/group"));
    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
      a.problem("user", e.getMessage());
      return Optional.empty();
    }
    long self = new com.sun.security.auth.module.UnixSystem().getUid();
    if (self != 0 && runAs.uid() != self) {
      a.problem(
          "user",
          "only a daemon running as root can start an agent as '"
              + text.strip()
              + "' (this daemon runs as uid "
              + self
              + ")");
    }
    return Optional.of(runAs);
  }

  /**
   * Refuses a config-dir a push could turn into code execution or damage: one holding the agent's
   * executable, serving as its working directory, or overlapping the daemon's data directory.
   */
  private static void contained(
      Settings a, Path configDir, String command, Path workingDir, Path dataDir) {
    Path dir = real(configDir);
    if (executable(command)) {
      Path exe = real(resolveCommand(command));
      if (exe.startsWith(dir)) {
        a.problem(
            "config-dir",
            "holds the agent's executable "
                + exe
                + ": a config push could replace the program itself; keep programs elsewhere");
      }
    }
    if (real(workingDir).equals(dir)) {
      a.problem(
          "config-dir",
          "is the agent's working-dir: pushed files would land among what the agent runs from;"
              + " give it a directory of its own");
    }
    Path data = real(dataDir);
    if (dir.startsWith(data) || data.startsWith(dir)) {
      a.problem(
          "config-dir",
          "overlaps the daemon's data-dir " + data + ": a push could overwrite the daemon's state");
    }
  }

  private static Path real(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    try {
      return abs.toRealPath();
    } catch (java.io.IOException e) {
      return abs; // not there yet: compare as written
    }
  }

  private static Path resolveCommand(String command) {
    if (command.contains("/")) {
      return Path.of(command);
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        return Path.of(dir, command);
      }
    }
    return Path.of(command);
  }

  /** {@code heartbeat-timeout} (auto, 0 = off, or a duration) and the {@code health} section. */
  private static HealthPolicy health(Settings a) {
    Optional<Duration> timeout = Optional.empty();
    String text = a.string("heartbeat-timeout", "auto");
    if (text.strip().equals("0")) {
      timeout = Optional.of(Duration.ZERO); // off, as the key's documentation says
    } else if (!text.equals("auto")) {
      try {
        timeout = Optional.of(io.opsscaffold.settings.DurationText.parse(text));
      } catch (IllegalArgumentException e) {
        a.problem("heartbeat-timeout", "must be auto, 0 or a duration (got '" + text + "')");
      }
    }
    Settings h = a.section("health");
    Optional<HealthPolicy.Probe> probe = Optional.empty();
    if (h.has("probe")) {
      Settings p = h.section("probe");
      String url = p.requiredString("url");
      if (!url.isEmpty() && !url.startsWith("http://") && !url.startsWith("https://")) {
        p.problem("url", "must be an http:// or https:// URL (got '" + url + "')");
      }
      probe =
          Optional.of(
              new HealthPolicy.Probe(
                  url,
                  p.duration(
                      "period",
                      Duration.ofSeconds(10),
                      Duration.ofMillis(100),
                      Duration.ofHours(1)),
                  p.duration(
                      "timeout",
                      Duration.ofSeconds(1),
                      Duration.ofMillis(10),
                      Duration.ofMinutes(1)),
                  p.integer("failure-threshold", 3, 1, 100),
                  p.duration("initial-delay", Duration.ZERO, Duration.ZERO, Duration.ofHours(1))));
    }
    return new HealthPolicy(
        timeout,
        probe,
        h.integer("cpu-percent", 0, 0, 100_000),
        h.bytes("max-rss", 0, 0, 1L << 44),
        h.duration("sustain", Duration.ofSeconds(60), Duration.ZERO, Duration.ofHours(24)),
        h.duration("no-data-after", Duration.ZERO, Duration.ZERO, Duration.ofDays(1)),
        h.bool("restart", true));
  }

  /**
   * {@code remote-config} (pushes are accepted only when true), {@code config-dir}, {@code
   * config-reload} (restart, http, none), {@code config-reload-url}, {@code config-verify}.
   */
  private static ConfigPolicy config(Settings a, String command, Path workingDir, Settings s) {
    String text = a.string("config-dir", "");
    boolean remote = a.bool("remote-config", false);
    Optional<Path> dir = Optional.empty();
    if (remote && text.isBlank()) {
      a.problem("remote-config", "needs a config-dir for the pushed files");
    }
    if (!text.isBlank() && remote) {
      dir = Optional.of(Path.of(text));
      if (Files.exists(dir.get()) && !Files.isDirectory(dir.get())) {
        a.problem("config-dir", "'" + text + "' exists and is not a directory");
      }
      contained(a, dir.get(), command, workingDir, Path.of(s.string("data-dir", "data/daemon")));
    }
    ConfigPolicy.Reload reload =
        ConfigPolicy.Reload.valueOf(
            a.oneOf("config-reload", "restart", ConfigPolicy.Reload.configNames())
                .toUpperCase(java.util.Locale.ROOT));
    Optional<java.net.URI> url = Optional.empty();
    String urlText = a.string("config-reload-url", "");
    if (!urlText.isBlank()) {
      if (!urlText.startsWith("http://") && !urlText.startsWith("https://")) {
        a.problem(
            "config-reload-url", "must be an http:// or https:// URL (got '" + urlText + "')");
      } else {
        url = Optional.of(java.net.URI.create(urlText));
      }
    } else if (reload == ConfigPolicy.Reload.HTTP) {
      a.problem("config-reload-url", "is required when config-reload is http");
    }
    return new ConfigPolicy(
        dir,
        reload,
        url,
        a.duration("config-verify", Duration.ofSeconds(2), Duration.ZERO, Duration.ofMinutes(10)));
  }

  private static double multiplier(Settings restart) {
    String text = restart.string("multiplier", "2");
    try {
      double m = Double.parseDouble(text);
      if (m >= 1 && m <= 10) {
        return m;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    restart.problem("multiplier", "must be a number from 1 to 10 (got '" + text + "')");
    return 2;
  }

  private static boolean executable(String command) {
    if (command.contains("/")) {
      return Files.isExecutable(Path.of(command));
    }
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  private static String detectHostname() {
    try {
      String name = InetAddress.getLocalHost().getHostName();
      return ID.matcher(name).matches() ? name : "localhost";
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  private static String detectIp() {
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (UnknownHostException e) {
      return "127.0.0.1";
    }
  }

  /**
   * {@code manager.address}: one {@code host:port}, several separated by commas, or a list; the
   * result is comma-separated, each checked.
   */
  private static String managerAddress(Settings s) {
    List<String> given = new java.util.ArrayList<>();
    for (String item : s.strings("manager.address")) {
      for (String a : item.split(",")) {
        if (!a.isBlank()) {
          given.add(a.strip());
        }
      }
    }
    if (given.isEmpty()) {
      return "127.0.0.1:8080";
    }
    for (String a : given) {
      java.net.URI u;
      try {
        u = new java.net.URI("tcp://" + a);
      } catch (java.net.URISyntaxException e) {
        u = null;
      }
      if (u == null || u.getHost() == null || u.getPort() <= 0) {
        s.problem("manager.address", a + " is not host:port");
      }
    }
    return String.join(",", given);
  }
}
