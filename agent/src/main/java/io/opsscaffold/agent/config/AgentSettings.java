package io.opsscaffold.agent.config;

import io.opsscaffold.settings.Settings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The reference agent's configuration ({@code agent.yaml}, keys as in the agent design).
 *
 * @param heartbeatInterval time between heartbeats (default 30 s)
 * @param daemonUrl the daemon's HTTP heartbeat base URL, when heartbeats go over HTTP
 * @param daemonSocket the daemon's Unix socket, when heartbeats go over JSON-RPC on a socket
 * @param httpPort port of /health, /reload and /metrics (0 picks a free one)
 * @param failureThreshold consecutive heartbeat failures after which /health answers 503
 * @param stateFile where counters survive restarts
 * @param logLevel debug, info, warn or error
 */
public record AgentSettings(
    String agentId,
    Duration heartbeatInterval,
    Optional<URI> daemonUrl,
    Optional<Path> daemonSocket,
    String httpHost,
    int httpPort,
    int failureThreshold,
    Path stateFile,
    String logLevel,
    FaultSettings faults) {

  /** Reads and checks every key; throws SettingsException naming each problem. */
  public static AgentSettings read(Settings s) {
    String id = s.requiredString("agent_id");
    if (!id.isEmpty() && !id.matches("[A-Za-z0-9._-]{1,128}")) {
      s.problem("agent_id", "must be 1 to 128 characters of [A-Za-z0-9._-] (got '" + id + "')");
    }
    Duration interval =
        s.duration(
            "heartbeat_interval",
            Duration.ofSeconds(30),
            Duration.ofMillis(100),
            Duration.ofHours(1));
    Optional<URI> url = Optional.empty();
    Optional<Path> socket = Optional.empty();
    String socketText = s.string("daemon_socket", "");
    String urlText = s.string("daemon_url", socketText.isEmpty() ? "http://127.0.0.1:8090" : "");
    if (!socketText.isEmpty() && !urlText.isEmpty()) {
      s.problem("daemon_socket", "set either daemon_url or daemon_socket, not both");
    } else if (!socketText.isEmpty()) {
      socket = Optional.of(Path.of(socketText));
    } else {
      try {
        URI uri = URI.create(urlText);
        if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
          s.problem("daemon_url", "must be an http:// URL with a host (got '" + urlText + "')");
        }
        url = Optional.of(uri);
      } catch (IllegalArgumentException e) {
        s.problem("daemon_url", "is not a URL: " + e.getMessage());
      }
    }
    String host = s.string("http_host", "127.0.0.1");
    int port = s.integer("http_port", 8081, 0, 65535);
    int threshold = s.integer("failure_threshold", 3, 1, 1000);
    String defaultState =
        Path.of(
                System.getProperty("java.io.tmpdir"),
                "ops-agent-" + (id.isEmpty() ? "agent" : id) + ".json")
            .toString();
    Path state = Path.of(s.string("state_file", defaultState));
    String level = s.oneOf("log_level", "info", List.of("debug", "info", "warn", "error"));
    FaultSettings faults = FaultSettings.read(s.section("faults"));
    s.finish();
    return new AgentSettings(
        id, interval, url, socket, host, port, threshold, state, level, faults);
  }
}
