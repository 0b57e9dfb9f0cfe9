package io.opsscaffold.agent.state;

import io.opsscaffold.files.AtomicFiles;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import jakarta.json.JsonValue;
import jakarta.json.spi.JsonProvider;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The agent's counters on disk, so they survive restarts. Written atomically (a temporary file in
 * the same directory, fsync, rename), so a crash mid-write leaves the previous file intact. A
 * corrupt file is set aside (renamed {@code .corrupt-<millis>}) and the agent starts fresh. Called
 * from one thread at a time.
 */
public final class StateFile {
  // One provider for the process: Json.createX() looks the provider up through ServiceLoader on
  // every call.
  private static final JsonProvider JSON = JsonProvider.provider();
  private static final Logger LOG = Logger.getLogger(StateFile.class.getName());

  /** What is kept between runs. Times may be null when unknown. */
  public record State(
      String agentId,
      Instant firstStartedAt,
      Instant startedAt,
      long runs,
      Instant lastHeartbeat,
      long heartbeatCount,
      long heartbeatFailures,
      long eventsProcessed) {}

  private final Path path;

  public StateFile(Path path) {
    this.path = path;
  }

  public Path path() {
    return path;
  }

  /** The saved state of {@code agentId}; empty when there is none (or it was corrupt). */
  public Optional<State> load(String agentId) {
    if (!Files.isRegularFile(path)) {
      return Optional.empty();
    }
    try {
      JsonObject o;
      try (JsonReader r = JSON.createReader(new StringReader(Files.readString(path)))) {
        o = r.readObject();
      }
      State s =
          new State(
              o.getString("agent_id"),
              instant(o, "first_started_at"),
              instant(o, "started_at"),
              o.getJsonNumber("runs").longValueExact(),
              instant(o, "last_heartbeat"),
              o.getJsonNumber("heartbeat_count").longValueExact(),
              o.getJsonNumber("heartbeat_failures").longValueExact(),
              o.getJsonNumber("events_processed").longValueExact());
      if (!s.agentId().equals(agentId)) {
        LOG.warning(
            () ->
                path
                    + " belongs to agent "
                    + s.agentId()
                    + ", not "
                    + agentId
                    + "; starting fresh");
        return Optional.empty();
      }
      return Optional.of(s);
    } catch (IOException | RuntimeException e) {
      Path aside =
          path.resolveSibling(path.getFileName() + ".corrupt-" + System.currentTimeMillis());
      try {
        Files.move(path, aside);
      } catch (IOException moveFailed) {
        LOG.warning(() -> "could not set aside " + path + ": " + moveFailed);
      }
      LOG.warning(
          () ->
              "state file "
                  + path
                  + " is unreadable ("
                  + e
                  + "); set aside as "
                  + aside
                  + ", starting fresh");
      return Optional.empty();
    }
  }

  /** Replaces the file with {@code state}, atomically. */
  public void save(State state) throws IOException {
    Path dir = path.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    AtomicFiles.write(path, toJson(state).getBytes(StandardCharsets.UTF_8));
  }

  private static String toJson(State s) {
    var b =
        JSON.createObjectBuilder()
            .add("agent_id", s.agentId())
            .add("runs", s.runs())
            .add("heartbeat_count", s.heartbeatCount())
            .add("heartbeat_failures", s.heartbeatFailures())
            .add("events_processed", s.eventsProcessed())
            .add("saved_at", Instant.now().toString());
    put(b, "first_started_at", s.firstStartedAt());
    put(b, "started_at", s.startedAt());
    put(b, "last_heartbeat", s.lastHeartbeat());
    return b.build().toString();
  }

  private static void put(jakarta.json.JsonObjectBuilder b, String key, Instant value) {
    if (value == null) {
      b.addNull(key);
    } else {
      b.add(key, value.toString());
    }
  }

  private static Instant instant(JsonObject o, String key) {
    JsonValue v = o.get(key);
    return v == null || v == JsonValue.NULL ? null : Instant.parse(o.getString(key));
  }
}
