package io.opsscaffold.daemon.heartbeat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.daemon.supervision.AgentSpec;
import io.opsscaffold.daemon.supervision.Supervisor;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.StringReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UnixSocketHeartbeatServerTest {
  private static final String PARAMS =
      "{\"agent_id\":\"a1\",\"pid\":42,\"status\":\"running\",\"timestamp\":\""
          + java.time.Instant.now()
          + "\"}";

  @TempDir Path dir;
  private Supervisor supervisor;
  private UnixSocketHeartbeatServer server;

  @BeforeEach
  void start() throws IOException {
    AgentSpec spec =
        new AgentSpec(
            "a1",
            "t",
            "/bin/true",
            List.of(),
            Path.of("."),
            Map.of(),
            new RestartPolicy(
                io.opsscaffold.daemon.restart.RestartPolicy.Mode.NEVER,
                Duration.ZERO,
                2,
                Duration.ZERO,
                Duration.ZERO,
                5),
            io.opsscaffold.daemon.health.HealthPolicy.defaults(),
            Duration.ofSeconds(1),
            false,
            Duration.ZERO,
            "TERM",
            io.opsscaffold.daemon.logs.LogPolicy.defaults(),
            java.util.Optional.empty());
    supervisor =
        new Supervisor(
            List.of(spec),
            s -> {
              throw new IOException("not launched in this test");
            },
            (s, c) -> {},
            io.opsscaffold.time.Time.system(),
            TracerProvider.noop().get("t"));
    server =
        new UnixSocketHeartbeatServer(
            dir.resolve("d.sock"),
            new HeartbeatIntake(supervisor, Clock.systemUTC()),
            PeerCredentials.system(),
            ProcSockets.system());
  }

  /** The agent of these tests is never launched, so who sends its heartbeats is not checked. */
  private static final Sender NOT_SUPERVISED = Sender.unknown("a test");

  @AfterEach
  void stop() {
    server.close();
    supervisor.close(false);
  }

  private static JsonObject json(String s) {
    try (JsonReader r = Json.createReader(new StringReader(s))) {
      return r.readObject();
    }
  }

  @Test
  void aHeartbeatOverTheSocketReachesTheAgentAndIsAnswered() throws Exception {
    try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      c.connect(UnixDomainSocketAddress.of(server.path()));
      OutputStream out = Channels.newOutputStream(c);
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
      for (int id = 1; id <= 3; id++) {
        out.write(
            ("{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
                    + PARAMS
                    + ",\"id\":"
                    + id
                    + "}\n")
                .getBytes(StandardCharsets.UTF_8));
        JsonObject answer = json(in.readLine());
        assertEquals(id, answer.getInt("id"));
        assertEquals("heartbeat received", answer.getJsonObject("result").getString("message"));
      }
      out.write("garbage\n".getBytes(StandardCharsets.UTF_8));
      assertEquals(-32700, json(in.readLine()).getJsonObject("error").getInt("code"));
      out.write(
          ("{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":" + PARAMS + ",\"id\":9}\n")
              .getBytes(StandardCharsets.UTF_8));
      assertEquals(9, json(in.readLine()).getInt("id"), "a bad line does not end the connection");
    }
    assertTrue(supervisor.runner("a1").orElseThrow().snapshot().lastHeartbeat().isPresent());
    assertEquals(
        "rw-rw-rw-",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(server.path())),
        "agents running as their own users can connect; the kernel says who they are");
  }

  @Test
  void anOversizedLineIsRefusedAndTheConnectionClosed() throws Exception {
    try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      c.connect(UnixDomainSocketAddress.of(server.path()));
      OutputStream out = Channels.newOutputStream(c);
      out.write(
          ("{\"pad\":\"" + "x".repeat(UnixSocketHeartbeatServer.MAX_LINE + 10) + "\"}\n")
              .getBytes(StandardCharsets.UTF_8));
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
      JsonObject error = json(in.readLine()).getJsonObject("error");
      assertEquals(-32600, error.getInt("code"));
      assertTrue(error.getString("message").contains("larger than"));
      assertNull(in.readLine(), "the daemon closed the connection");
    }
  }

  /** Each bad request, the JSON-RPC error code it must get, and a piece of the message. */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{|-32700|Parse error",
        "not json|-32700|Parse error",
        "{\"jsonrpc\":\"2.0\"} tail|-32700|Parse error",
        "{\"jsonrpc\":\"2.0\"} {}|-32700|Parse error",
        "[]|-32600|empty batch",
        "42|-32600|expected a JSON-RPC request object",
        "\"heartbeat\"|-32600|expected a JSON-RPC request object",
        "null|-32600|expected a JSON-RPC request object",
        "{\"method\":\"heartbeat\",\"id\":1}|-32600|jsonrpc must be \"2.0\"",
        "{\"jsonrpc\":\"1.0\",\"method\":\"heartbeat\",\"id\":1}|-32600|jsonrpc must be \"2.0\"",
        "{\"jsonrpc\":2.0,\"method\":\"heartbeat\",\"id\":1}|-32600|jsonrpc must be \"2.0\"",
        "{\"jsonrpc\":\"2.0\",\"id\":1}|-32600|method must be a string",
        "{\"jsonrpc\":\"2.0\",\"method\":7,\"id\":1}|-32600|method must be a string",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"id\":{}}|-32600|id must be a string, a number or null",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"id\":[1]}|-32600|id must be a string, a number or null",
        "{\"jsonrpc\":\"2.0\",\"method\":\"reboot\",\"id\":1}|-32601|Method not found: reboot",
        "{\"jsonrpc\":\"2.0\",\"method\":\"Heartbeat\",\"id\":1}|-32601|Method not found",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"id\":1}|-32602|params must be the heartbeat object",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":[1],\"id\":1}|-32602|params must be the heartbeat object",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{},\"id\":1}|-32602|agent_id is required",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\"},\"id\":1}|-32602|pid is required",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":\"1\"},\"id\":1}|-32602|pid must be an integer",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":-3},\"id\":1}|-32602|pid must be a positive integer",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":1},\"id\":1}|-32602|status is required",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"ok\"},\"id\":1}|-32602|status must be one of",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\"},\"id\":1}|-32602|timestamp is required",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"now\"},\"id\":1}|-32602|timestamp must be ISO-8601",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"cpu\":250,\"timestamp\":\"2026-01-01T00:00:00Z\"},\"id\":1}|-32602|cpu must be a number from 0 to 100",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"memory\":-1,\"timestamp\":\"2026-01-01T00:00:00Z\"},\"id\":1}|-32602|memory must be a non-negative",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":\"ghost\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"2026-01-01T00:00:00Z\"},\"id\":1}|-32001|unknown agent 'ghost'",
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":{\"agent_id\":7,\"pid\":1},\"id\":1}|-32602|agent_id must be a string",
        "[1]|-32600|expected a JSON-RPC request object",
      })
  void everyBadRequestGetsTheRightJsonRpcError(String line, int code, String message) {
    String answer = server.handle(line, NOT_SUPERVISED);
    JsonObject parsed =
        answer.startsWith("[")
            ? Json.createReader(new StringReader(answer)).readArray().getJsonObject(0)
            : json(answer);
    JsonObject error = parsed.getJsonObject("error");
    assertEquals(code, error.getInt("code"), answer);
    assertTrue(error.getString("message").contains(message), answer);
    assertEquals("2.0", parsed.getString("jsonrpc"));
  }

  @Test
  void notificationsAreNotAnsweredAndBatchesAre() {
    assertNull(
        server.handle(
            "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":" + PARAMS + "}",
            NOT_SUPERVISED));
    String batch =
        server.handle(
            "[{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
                + PARAMS
                + ",\"id\":1},"
                + "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
                + PARAMS
                + "},"
                + "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"x\"}]",
            NOT_SUPERVISED);
    var answers = Json.createReader(new StringReader(batch)).readArray();
    assertEquals(2, answers.size(), batch);
    assertEquals(
        "heartbeat received",
        answers.getJsonObject(0).getJsonObject("result").getString("message"));
    assertEquals(-32601, answers.getJsonObject(1).getJsonObject("error").getInt("code"));
  }

  @Test
  void theAnswerCarriesTheRequestIdAsSentAndAnyWarningEscaped() {
    String answer =
        server.handle(
            "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
                + PARAMS
                + ",\"id\":\"q\\\"b\\\\\\u00e9\"}",
            NOT_SUPERVISED);
    assertEquals("q\"b\\\u00e9", json(answer).getString("id"), answer);
    assertEquals(
        12.5,
        json(server.handle(
                "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
                    + PARAMS
                    + ",\"id\":12.5}",
                NOT_SUPERVISED))
            .getJsonNumber("id")
            .doubleValue());
    assertTrue(
        json(server.handle(
                "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
                    + PARAMS
                    + ",\"id\":null}",
                NOT_SUPERVISED))
            .isNull("id"));

    JsonObject warned =
        json(
            UnixSocketHeartbeatServer.accepted(
                jakarta.json.Json.createValue(7),
                java.util.Optional.of("pid \"9\" is\nforeign\\")));
    assertEquals(7, warned.getInt("id"));
    assertEquals("2.0", warned.getString("jsonrpc"));
    assertEquals("heartbeat received", warned.getJsonObject("result").getString("message"));
    assertEquals("pid \"9\" is\nforeign\\", warned.getJsonObject("result").getString("warning"));
  }
}
