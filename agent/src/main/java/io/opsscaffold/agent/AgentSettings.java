package io.opsscaffold.agent;

import io.opsscaffold.settings.Settings;
import java.net.URI;
import java.time.Duration;

/**
 * The reference agent's configuration ({@code agent.yaml}; keys as in the agent design).
 *
 * @param heartbeatInterval time between heartbeats (default 30 s)
 * @param daemonUrl the daemon's heartbeat base URL, e.g. {@code http://127.0.0.1:8090}
 * @param httpPort port of /health (0 picks a free one)
 */
public record AgentSettings(String agentId, Duration heartbeatInterval, URI daemonUrl, int httpPort) {

  public static AgentSettings read(Settings s) {
    String id = s.requiredString("agent_id");
    Duration interval =
        s.duration("heartbeat_interval", Duration.ofSeconds(30), Duration.ofMillis(100), Duration.ofHours(1));
    String url = s.string("daemon_url", "http://127.0.0.1:8090");
    URI uri = URI.create("http://127.0.0.1:8090");
    try {
      uri = URI.create(url);
      if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
        s.problem("daemon_url", "must be an http:// URL with a host (got '" + url + "')");
      }
    } catch (IllegalArgumentException e) {
      s.problem("daemon_url", "is not a URL: " + e.getMessage());
    }
    int port = s.integer("http_port", 8081, 0, 65535);
    s.finish();
    return new AgentSettings(id, interval, uri, port);
  }
}
