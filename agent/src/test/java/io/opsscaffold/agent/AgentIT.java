package io.opsscaffold.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.Await;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import java.io.StringReader;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reference agent as a real process, against receivers speaking the daemon's protocols. */
class AgentIT extends RealAgentFixture {

  private String config(String extra) {
    return """
        agent_id: a1
        heartbeat_interval: 200ms
        daemon_url: %s
        http_port: 0
        failure_threshold: 2
        state_file: %s
        """
            .formatted(daemon.url(), dir.resolve("state.json"))
        + extra;
  }

  private AgentProcess start(String extra, String... jvm) {
    agent = AgentProcess.start(dir, config(extra), jvm);
    return agent;
  }

  private void reconfigure(String extra) throws Exception {
    Files.writeString(agent.config, config(extra));
    HttpResponse<String> res = agent.post("/reload");
    assertEquals(200, res.statusCode(), res.body());
  }

  private List<JsonObject> heartbeats(int atLeast) {
    return Await.until(
        Duration.ofSeconds(10),
        atLeast + " heartbeats",
        () -> List.copyOf(daemon.received),
        l -> l.size() >= atLeast);
  }

  @Test
  void heartbeatsCarryTheDocumentedFieldsAndProgress() {
    start("");
    List<JsonObject> got = heartbeats(3);
    JsonObject hb = got.get(got.size() - 1);
    assertEquals("a1", hb.getString("agent_id"));
    assertEquals(agent.pid(), hb.getJsonNumber("pid").longValue());
    assertEquals("running", hb.getString("status"));
    double cpu = hb.getJsonNumber("cpu").doubleValue();
    assertTrue(cpu >= 0 && cpu <= 100, "cpu " + cpu);
    assertTrue(hb.getJsonNumber("memory").longValue() > 10_000_000, "resident memory in bytes");
    Instant ts = Instant.parse(hb.getString("timestamp"));
    assertTrue(Duration.between(ts, Instant.now()).abs().getSeconds() < 5);
    assertTrue(hb.getString("timestamp").endsWith("Z"), "UTC");
    long firstEvents = got.get(0).getJsonNumber("events_processed").longValue();
    assertTrue(hb.getJsonNumber("events_processed").longValue() > firstEvents, "progress moves");
    assertTrue(hb.getJsonNumber("heartbeat_count").longValue() >= 2);
  }

  @Test
  void everyEndpointAnswersWithItsDocumentedShape() {
    start("");
    heartbeats(1);
    HttpResponse<String> health = agent.get("/health");
    assertEquals(200, health.statusCode());
    JsonObject h = agent.json(health);
    assertEquals("healthy", h.getString("status"));
    assertEquals("a1", h.getString("agent_id"));
    assertTrue(h.getJsonNumber("uptime").longValue() >= 0);
    Instant.parse(h.getString("last_heartbeat"));

    JsonObject m = agent.json(agent.get("/metrics"));
    for (String key :
        List.of(
            "agent_id",
            "uptime",
            "heartbeat_count",
            "heartbeat_failures",
            "last_heartbeat",
            "cpu_percent",
            "memory_bytes",
            "status")) {
      assertTrue(m.containsKey(key), key + " in " + m);
    }
    assertEquals("running", m.getString("status"));
    assertTrue(m.getJsonNumber("heartbeat_count").longValue() >= 1);

    HttpResponse<String> prom = agent.get("/metrics?format=prometheus");
    assertEquals(200, prom.statusCode());
    assertTrue(prom.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
    assertTrue(prom.body().contains("# TYPE agent_heartbeats_total counter"), prom.body());
    assertTrue(
        prom.body().matches("(?s).*\\nagent_heartbeats_total\\{agent_id=\"a1\"} \\d+\\n.*"),
        prom.body());
    assertTrue(
        agent
            .get("/metrics", "Accept", "text/plain")
            .body()
            .contains("agent_memory_bytes{agent_id=\"a1\"}"));

    assertEquals(404, agent.get("/nope").statusCode());
    HttpResponse<String> wrong = agent.post("/health");
    assertEquals(405, wrong.statusCode());
    assertEquals("GET", wrong.headers().firstValue("Allow").orElse(""));
    assertEquals(405, agent.get("/reload").statusCode());
  }

  @Test
  void healthTurns503WhenHeartbeatsKeepFailingAndRecovers() {
    start("");
    heartbeats(1);
    daemon.status = 500;
    HttpResponse<String> sick =
        Await.until(
            Duration.ofSeconds(10),
            "/health to answer 503",
            () -> agent.get("/health"),
            r -> r.statusCode() == 503);
    assertEquals("unhealthy", agent.json(sick).getString("status"));
    assertTrue(agent.json(sick).getString("reason").contains("threshold 2"));
    assertTrue(
        agent.json(agent.get("/metrics")).getJsonNumber("heartbeat_failures").longValue() >= 3);
    daemon.status = 200;
    Await.until(
        Duration.ofSeconds(10),
        "/health to recover",
        () -> agent.get("/health").statusCode(),
        s -> s == 200);
  }

  @Test
  void sigtermSendsAStoppingHeartbeatAndExitsZero() {
    start("");
    heartbeats(1);
    assertEquals(0, agent.terminate(Duration.ofSeconds(10)));
    JsonObject last = daemon.received.get(daemon.received.size() - 1);
    assertEquals("stopping", last.getString("status"));
    assertTrue(agent.output().contains("stopped (final heartbeat sent)"), agent.output());
    String logLine =
        agent
            .output()
            .lines()
            .filter(l -> l.contains("stopped (final heartbeat sent)"))
            .findFirst()
            .orElseThrow();
    assertTrue(
        logLine.startsWith("{\"time\":")
            && logLine.contains("\"agent_id\":\"a1\"")
            && logLine.contains("\"level\":\"INFO\""),
        "JSON log lines carry the agent id: " + logLine);
  }

  @Test
  void heartbeatsGoOverTheUnixSocketAsJsonRpc() throws Exception {
    Path sock = Files.createTempDirectory("ops-sock").resolve("d.sock");
    try (HeartbeatReceivers.Socket socket = new HeartbeatReceivers.Socket(sock)) {
      agent =
          AgentProcess.start(
              dir,
              """
          agent_id: a1
          heartbeat_interval: 200ms
          daemon_socket: %s
          http_port: 0
          state_file: %s
          """
                  .formatted(sock, dir.resolve("state.json")));
      List<JsonObject> got =
          Await.until(
              Duration.ofSeconds(10),
              "3 JSON-RPC heartbeats",
              () -> List.copyOf(socket.requests),
              l -> l.size() >= 3);
      JsonObject req = got.get(2);
      assertEquals("2.0", req.getString("jsonrpc"));
      assertEquals("heartbeat", req.getString("method"));
      assertEquals("a1", req.getJsonObject("params").getString("agent_id"));
      assertEquals(agent.pid(), req.getJsonObject("params").getJsonNumber("pid").longValue());
      assertTrue(
          got.stream().map(r -> r.get("id")).distinct().count() == got.size(), "ids are unique");
      assertEquals(200, agent.get("/health").statusCode());
    }
  }

  @Test
  void reloadAppliesAValidFileAndRefusesAnInvalidOne() throws Exception {
    start("");
    heartbeats(1);
    Files.writeString(agent.config, config("faults:\n  stop_heartbeat: true\n"));
    HttpResponse<String> ok = agent.post("/reload");
    assertEquals(200, ok.statusCode(), ok.body());
    JsonObject body = agent.json(ok);
    assertTrue(body.getBoolean("success"));
    Instant.parse(body.getString("reloaded_at"));

    Files.writeString(agent.config, "agent_id: a1\nheartbeat_interval: often\ncolour: blue\n");
    HttpResponse<String> bad = agent.post("/reload");
    assertEquals(400, bad.statusCode());
    JsonObject refusal = agent.json(bad);
    assertFalse(refusal.getBoolean("success"));
    assertTrue(
        refusal.getString("message").contains("heartbeat_interval: 'often' is not a duration"),
        refusal.toString());
    assertTrue(refusal.getString("message").contains("colour: unknown key"), refusal.toString());
    int before = daemon.received.size();
    Await.holds(
        Duration.ofSeconds(1),
        "no heartbeat for five intervals: the running configuration stays in force",
        () -> daemon.received.size() == before);

    Files.delete(agent.config);
    assertEquals(500, agent.post("/reload").statusCode());
  }

  @Test
  void stateSurvivesARestartAndACorruptFileIsSetAside() throws Exception {
    start("");
    heartbeats(3);
    assertEquals(0, agent.terminate(Duration.ofSeconds(10)));
    try (JsonReader r =
        Json.createReader(new StringReader(Files.readString(dir.resolve("state.json"))))) {
      JsonObject state = r.readObject();
      assertEquals("a1", state.getString("agent_id"));
      assertEquals(1, state.getInt("runs"));
      assertTrue(state.getJsonNumber("heartbeat_count").longValue() >= 3);
    }
    long before = daemon.received.size();
    start("");
    JsonObject m = agent.json(agent.get("/metrics"));
    assertTrue(
        m.getJsonNumber("heartbeat_count").longValue() >= before - 1,
        "counters continue across restarts: " + m);
    agent.close();

    Files.writeString(dir.resolve("state.json"), "{\"agent_id\": \"a1\", \"runs\": ");
    start("");
    try (var files = Files.list(dir)) {
      assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("state.json.corrupt-")));
    }
    assertEquals(200, agent.get("/health").statusCode());
  }

  @Test
  void badConfigurationStopsTheAgentWithEveryProblemNamed() throws Exception {
    AgentProcess bad =
        AgentProcess.launch(
            dir,
            """
        heartbeat_interval: 5 parsecs
        daemon_url: ftp://x
        http_port: 99999
        """);
    agent = bad;
    assertTrue(bad.process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(2, bad.process.exitValue());
    String out = bad.output();
    assertTrue(out.contains("agent_id: is required"), out);
    assertTrue(out.contains("heartbeat_interval: '5 parsecs' is not a duration"), out);
    assertTrue(out.contains("daemon_url: must be an http:// URL"), out);
    assertTrue(out.contains("http_port: must be between 0 and 65535"), out);
  }
}
