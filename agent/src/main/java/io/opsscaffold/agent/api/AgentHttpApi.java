package io.opsscaffold.agent.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opsscaffold.agent.AgentRuntime;
import io.opsscaffold.agent.heartbeat.AgentCounters;
import io.opsscaffold.agent.resources.SelfMonitor;
import jakarta.json.JsonObjectBuilder;
import jakarta.json.spi.JsonProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Executors;

/**
 * The agent's HTTP API on the JDK's small HTTP server: {@code GET /health}, {@code POST /reload},
 * {@code GET /metrics} (JSON, or Prometheus text for {@code Accept: text/plain} or {@code
 * ?format=prometheus}). Requests run on virtual threads.
 */
public final class AgentHttpApi implements AutoCloseable {
  // One provider for the process: Json.createX() looks the provider up through ServiceLoader on
  // every call.
  private static final JsonProvider JSON = JsonProvider.provider();
  private final HttpServer server;
  private final AgentRuntime runtime;

  public AgentHttpApi(String host, int port, AgentRuntime runtime) throws IOException {
    this.runtime = runtime;
    this.server = HttpServer.create(new InetSocketAddress(host, port), 64);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/", this::route);
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void route(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String method = ex.getRequestMethod();
      switch (path) {
        case "/health" -> {
          if (allowed(ex, method, "GET")) {
            health(ex);
          }
        }
        case "/reload" -> {
          if (allowed(ex, method, "POST")) {
            reload(ex);
          }
        }
        case "/metrics" -> {
          if (allowed(ex, method, "GET")) {
            metrics(ex);
          }
        }
        default ->
            send(
                ex,
                404,
                JSON.createObjectBuilder()
                    .add(
                        "error",
                        "no such endpoint: " + path + " (try /health, /reload, /metrics)"));
      }
    }
  }

  private static boolean allowed(HttpExchange ex, String method, String expected)
      throws IOException {
    if (method.equals(expected)) {
      return true;
    }
    ex.getResponseHeaders().set("Allow", expected);
    send(
        ex,
        405,
        JSON.createObjectBuilder().add("error", method + " is not allowed here; use " + expected));
    return false;
  }

  private void health(HttpExchange ex) throws IOException {
    Duration delay = runtime.faults().current().healthDelay();
    if (!delay.isZero()) {
      try {
        Thread.sleep(delay.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    AgentCounters c = runtime.counters();
    boolean healthy = c.consecutiveFailures() <= runtime.settings().failureThreshold();
    JsonObjectBuilder body =
        JSON.createObjectBuilder()
            .add("status", healthy ? "healthy" : "unhealthy")
            .add("uptime", uptimeSeconds(c))
            .add("agent_id", runtime.settings().agentId());
    instant(body, "last_heartbeat", c.lastHeartbeat());
    if (!healthy) {
      body.add(
          "reason",
          c.consecutiveFailures()
              + " heartbeats in a row failed (threshold "
              + runtime.settings().failureThreshold()
              + ")");
    }
    send(ex, healthy ? 200 : 503, body);
  }

  private void reload(HttpExchange ex) throws IOException {
    AgentRuntime.ReloadResult r = runtime.reload();
    JsonObjectBuilder body =
        JSON.createObjectBuilder().add("success", r.status() == 200).add("message", r.message());
    if (r.status() == 200) {
      body.add("reloaded_at", r.at().toString());
    }
    send(ex, r.status(), body);
  }

  private void metrics(HttpExchange ex) throws IOException {
    AgentCounters c = runtime.counters();
    SelfMonitor.Usage u = runtime.monitor().sample();
    String query = ex.getRequestURI().getQuery() == null ? "" : ex.getRequestURI().getQuery();
    String accept = ex.getRequestHeaders().getFirst("Accept");
    boolean prometheus =
        query.contains("format=prometheus")
            || (accept != null && accept.toLowerCase(Locale.ROOT).contains("text/plain"));
    String id = runtime.settings().agentId();
    String status = runtime.status();
    if (prometheus) {
      String l = "{agent_id=\"" + id.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
      String text =
          ""
              + "# HELP agent_uptime_seconds Seconds since the agent process started.\n"
              + "# TYPE agent_uptime_seconds gauge\nagent_uptime_seconds"
              + l
              + " "
              + uptimeSeconds(c)
              + "\n"
              + "# HELP agent_heartbeats_total Heartbeats the daemon accepted.\n"
              + "# TYPE agent_heartbeats_total counter\nagent_heartbeats_total"
              + l
              + " "
              + c.heartbeats()
              + "\n"
              + "# HELP agent_heartbeat_failures_total Heartbeats that failed.\n"
              + "# TYPE agent_heartbeat_failures_total counter\nagent_heartbeat_failures_total"
              + l
              + " "
              + c.failures()
              + "\n"
              + "# HELP agent_events_processed_total Units of work done (the progress counter).\n"
              + "# TYPE agent_events_processed_total counter\nagent_events_processed_total"
              + l
              + " "
              + c.events()
              + "\n"
              + "# HELP agent_cpu_percent CPU used, percent of one core.\n"
              + "# TYPE agent_cpu_percent gauge\nagent_cpu_percent"
              + l
              + " "
              + u.cpuPercent()
              + "\n"
              + "# HELP agent_memory_bytes Resident memory.\n"
              + "# TYPE agent_memory_bytes gauge\nagent_memory_bytes"
              + l
              + " "
              + u.rssBytes()
              + "\n";
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      ex.sendResponseHeaders(200, bytes.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
      return;
    }
    JsonObjectBuilder body =
        JSON.createObjectBuilder()
            .add("agent_id", id)
            .add("uptime", uptimeSeconds(c))
            .add("heartbeat_count", c.heartbeats())
            .add("heartbeat_failures", c.failures())
            .add("events_processed", c.events())
            .add("cpu_percent", u.cpuPercent())
            .add("memory_bytes", u.rssBytes())
            .add("status", status);
    instant(body, "last_heartbeat", c.lastHeartbeat());
    send(ex, 200, body);
  }

  private long uptimeSeconds(AgentCounters c) {
    return Duration.between(runtime.processStarted(), Instant.now()).toSeconds();
  }

  private static void instant(JsonObjectBuilder b, String key, Instant value) {
    if (value == null) {
      b.addNull(key);
    } else {
      b.add(key, value.toString());
    }
  }

  private static void send(HttpExchange ex, int status, JsonObjectBuilder body) throws IOException {
    byte[] bytes = body.build().toString().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
