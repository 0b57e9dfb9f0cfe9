package io.opsscaffold.daemon.heartbeat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HeartbeatParserTest {
  private static final String GOOD =
      "{\"agent_id\":\"a1\",\"pid\":42,\"status\":\"running\",\"cpu\":12.5,\"memory\":1048576,"
          + "\"timestamp\":\"2026-01-02T03:04:05Z\"}";

  @Test
  void readsTheDocumentedFormat() throws Exception {
    Heartbeat hb = HeartbeatParser.parse(GOOD);
    assertEquals(
        new Heartbeat(
            "a1",
            42,
            "running",
            12.5,
            1048576,
            Instant.parse("2026-01-02T03:04:05Z"),
            java.util.OptionalLong.empty()),
        hb);
    assertEquals(
        java.util.OptionalLong.of(77),
        HeartbeatParser.parse(GOOD.replace("}", ",\"events_processed\":77}")).progress());
    Heartbeat minimal =
        HeartbeatParser.parse(
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"stopping\",\"timestamp\":\"2026-01-02T03:04:05.123Z\"}");
    assertEquals(0, minimal.memory());
  }

  /** Each bad body and a piece of the message that must name what is wrong. */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "''|the body is empty",
        "'   '|the body is empty",
        "{|malformed JSON",
        "{\"agent_id\":|malformed JSON",
        "not json|malformed JSON",
        "[1,2]|must be a JSON object",
        "\"text\"|must be a JSON object",
        "42|must be a JSON object",
        "null|must be a JSON object",
        "{}|agent_id is required",
        "{\"agent_id\":null}|agent_id is required",
        "{\"agent_id\":7}|agent_id must be a string",
        "{\"agent_id\":\"\",\"pid\":1}|agent_id must be 1 to 128 characters",
        "{\"agent_id\":\"a1\"}|pid is required",
        "{\"agent_id\":\"a1\",\"pid\":\"42\"}|pid must be an integer",
        "{\"agent_id\":\"a1\",\"pid\":4.2}|pid must be an integer",
        "{\"agent_id\":\"a1\",\"pid\":-1}|pid must be a positive integer",
        "{\"agent_id\":\"a1\",\"pid\":0}|pid must be a positive integer",
        "{\"agent_id\":\"a1\",\"pid\":99999999999999999999999}|pid is out of range",
        "{\"agent_id\":\"a1\",\"pid\":1}|status is required",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"happy\"}|status must be one of running, stopping, error",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":true}|status must be a string",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"cpu\":\"high\"}|cpu must be a number",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"cpu\":101}|cpu must be a number from 0 to 100",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"cpu\":-0.5}|cpu must be a number from 0 to 100",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"memory\":-5}|memory must be a non-negative",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"memory\":1.5}|memory must be an integer",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\"}|timestamp is required",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"yesterday\"}|timestamp must be ISO-8601 UTC",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"2026-01-02 03:04:05\"}|timestamp must be ISO-8601 UTC",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":1700000000}|timestamp must be a string",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"2026-01-02T03:04:05Z\",\"events_processed\":-2}|events_processed must be a non-negative counter",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"2026-01-02T03:04:05Z\",\"events_processed\":\"x\"}|events_processed must be an integer",
        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"2026-01-02T03:04:05Z\"} trailing|malformed JSON",
      })
  void everyBadBodyIsNamed(String body, String expected) {
    HeartbeatParser.InvalidHeartbeat e =
        assertThrows(HeartbeatParser.InvalidHeartbeat.class, () -> HeartbeatParser.parse(body));
    assertTrue(e.getMessage().contains(expected), "for " + body + ": " + e.getMessage());
  }

  @Test
  void anOverlongAgentIdIsRefused() {
    String body = GOOD.replace("\"a1\"", "\"" + "x".repeat(129) + "\"");
    assertThrows(HeartbeatParser.InvalidHeartbeat.class, () -> HeartbeatParser.parse(body));
  }

  @Test
  void aDeeplyNestedBodyIsRefusedAsInvalidNotAsAnInternalError() {
    String body = "{\"agent_id\":" + "[".repeat(1000) + "]".repeat(1000) + "}";
    HeartbeatParser.InvalidHeartbeat e =
        assertThrows(HeartbeatParser.InvalidHeartbeat.class, () -> HeartbeatParser.parse(body));
    assertTrue(e.getMessage().startsWith("malformed JSON:"), e.getMessage());
  }
}
