package io.opsscaffold.daemon.heartbeat;

import jakarta.json.JsonNumber;
import jakarta.json.JsonObject;
import jakarta.json.JsonString;
import jakarta.json.JsonValue;
import jakarta.json.spi.JsonProvider;
import jakarta.json.stream.JsonParser;
import jakarta.json.stream.JsonParsingException;
import java.io.StringReader;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Set;

/**
 * Reads a heartbeat in the agents' documented format: {@code {"agent_id": "a1", "pid": 123,
 * "status": "running", "cpu": 1.5, "memory": 1048576, "timestamp": "2026-01-01T00:00:00Z"}}. Every
 * problem is reported with the field it concerns. Stateless and thread-safe.
 */
public final class HeartbeatParser {
  // One provider for the process: Json.createX() looks the provider up through ServiceLoader on
  // every call.
  private static final JsonProvider JSON = JsonProvider.provider();

  /** The statuses an agent may report. */
  public static final Set<String> STATUSES = Set.of("running", "stopping", "error");

  private HeartbeatParser() {}

  /** A malformed heartbeat; the message names the field and what is wrong. */
  public static final class InvalidHeartbeat extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidHeartbeat(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * @throws InvalidHeartbeat naming the field at fault
   */
  public static Heartbeat parse(String body) throws InvalidHeartbeat {
    if (body == null || body.isBlank()) {
      throw new InvalidHeartbeat("the body is empty; expected a JSON object");
    }
    JsonObject o;
    try (JsonParser parser = JSON.createParser(new StringReader(body))) {
      JsonParser.Event first = parser.next();
      if (first != JsonParser.Event.START_OBJECT) {
        throw new InvalidHeartbeat("the body must be a JSON object (got " + kind(first) + ")");
      }
      o = parser.getObject();
      if (parser.hasNext()) {
        throw new InvalidHeartbeat("malformed JSON: unexpected content after the object");
      }
    } catch (JsonParsingException e) {
      throw new InvalidHeartbeat("malformed JSON: " + e.getMessage());
    } catch (jakarta.json.JsonException | java.util.NoSuchElementException e) {
      throw new InvalidHeartbeat("malformed JSON: " + e.getMessage());
    } catch (RuntimeException e) {
      // Parsson refuses nesting deeper than its limit with a bare RuntimeException ("Input is too
      // deeply nested"): still the client's input, so a 400, never a 500.
      throw new InvalidHeartbeat("malformed JSON: " + e.getMessage());
    }
    return parse(o);
  }

  /**
   * Reads an already parsed heartbeat object; @throws InvalidHeartbeat naming the field at fault
   */
  public static Heartbeat parse(JsonObject o) throws InvalidHeartbeat {
    String agentId = requiredString(o, "agent_id");
    if (agentId.isBlank() || agentId.length() > 128) {
      throw new InvalidHeartbeat("agent_id must be 1 to 128 characters");
    }
    long pid = requiredInteger(o, "pid");
    if (pid <= 0) {
      throw new InvalidHeartbeat("pid must be a positive integer (got " + pid + ")");
    }
    String status = requiredString(o, "status");
    if (!STATUSES.contains(status)) {
      throw new InvalidHeartbeat(
          "status must be one of running, stopping, error (got '" + status + "')");
    }
    double cpu = 0;
    if (o.containsKey("cpu") && o.get("cpu") != JsonValue.NULL) {
      if (!(o.get("cpu") instanceof JsonNumber n)) {
        throw new InvalidHeartbeat("cpu must be a number from 0 to 100");
      }
      cpu = n.doubleValue();
      if (!(cpu >= 0 && cpu <= 100)) {
        throw new InvalidHeartbeat("cpu must be a number from 0 to 100 (got " + n + ")");
      }
    }
    long memory = 0;
    if (o.containsKey("memory") && o.get("memory") != JsonValue.NULL) {
      memory = requiredInteger(o, "memory");
      if (memory < 0) {
        throw new InvalidHeartbeat(
            "memory must be a non-negative number of bytes (got " + memory + ")");
      }
    }
    String ts = requiredString(o, "timestamp");
    Instant timestamp;
    try {
      timestamp = IsoInstant.parse(ts);
    } catch (DateTimeParseException e) {
      throw new InvalidHeartbeat(
          "timestamp must be ISO-8601 UTC, e.g. 2026-01-01T00:00:00Z (got '" + ts + "')");
    }
    java.util.OptionalLong progress = java.util.OptionalLong.empty();
    if (o.containsKey("events_processed") && o.get("events_processed") != JsonValue.NULL) {
      long p = requiredInteger(o, "events_processed");
      if (p < 0) {
        throw new InvalidHeartbeat(
            "events_processed must be a non-negative counter (got " + p + ")");
      }
      progress = java.util.OptionalLong.of(p);
    }
    return new Heartbeat(agentId, pid, status, cpu, memory, timestamp, progress);
  }

  private static String kind(JsonParser.Event event) {
    return switch (event) {
      case START_ARRAY -> "an array";
      case VALUE_STRING -> "a string";
      case VALUE_NUMBER -> "a number";
      case VALUE_TRUE, VALUE_FALSE -> "a boolean";
      case VALUE_NULL -> "null";
      default -> event.name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  private static String requiredString(JsonObject o, String field) throws InvalidHeartbeat {
    JsonValue v = o.get(field);
    if (v == null || v == JsonValue.NULL) {
      throw new InvalidHeartbeat(field + " is required");
    }
    if (!(v instanceof JsonString s)) {
      throw new InvalidHeartbeat(field + " must be a string");
    }
    return s.getString();
  }

  private static long requiredInteger(JsonObject o, String field) throws InvalidHeartbeat {
    JsonValue v = o.get(field);
    if (v == null || v == JsonValue.NULL) {
      throw new InvalidHeartbeat(field + " is required");
    }
    if (!(v instanceof JsonNumber n) || !n.isIntegral()) {
      throw new InvalidHeartbeat(field + " must be an integer");
    }
    try {
      return n.longValueExact();
    } catch (ArithmeticException e) {
      throw new InvalidHeartbeat(field + " is out of range");
    }
  }
}
