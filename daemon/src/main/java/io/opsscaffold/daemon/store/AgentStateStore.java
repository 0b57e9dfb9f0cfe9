package io.opsscaffold.daemon.store;

import io.opsscaffold.files.AtomicFiles;
import jakarta.json.JsonObject;
import jakarta.json.JsonObjectBuilder;
import jakarta.json.JsonReader;
import jakarta.json.JsonValue;
import jakarta.json.spi.JsonProvider;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.logging.Logger;

/**
 * The daemon's metadata store: one JSON file per agent under {@code <data-dir>/state/}, each
 * written atomically ({@link AtomicFiles}: temporary file in the same directory, fsync, rename,
 * fsync of the directory), readable by the daemon's user only. A file that cannot be read is set
 * aside as {@code <name>.corrupt-<millis>} and reported; it never stops the daemon. Thread-safe per
 * agent (each agent's runner writes its own file); {@link #problems} collects what was set aside.
 */
public final class AgentStateStore {
  // One provider for the process: Json.createX() looks the provider up through ServiceLoader on
  // every call.
  private static final JsonProvider JSON = JsonProvider.provider();
  private static final Logger LOG = Logger.getLogger(AgentStateStore.class.getName());

  private final Path dir;
  private final List<String> problems = new ArrayList<>();

  public AgentStateStore(Path dir) {
    this.dir = dir;
  }

  private Path file(String agentId) {
    return dir.resolve(agentId + ".json");
  }

  /** The stored record of {@code agentId}; empty when none (or it was corrupt and set aside). */
  public Optional<StoredAgent> load(String agentId) {
    Path f = file(agentId);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    try (JsonReader r = JSON.createReader(new StringReader(Files.readString(f)))) {
      JsonObject o = r.readObject();
      return Optional.of(
          new StoredAgent(
              o.getString("agent_id"),
              o.getJsonNumber("pid").longValueExact(),
              instant(o, "process_start"),
              o.getString("command_line"),
              o.getString("lifecycle"),
              o.getInt("restart_count"),
              o.isNull("last_exit_code")
                  ? OptionalInt.empty()
                  : OptionalInt.of(o.getInt("last_exit_code")),
              instant(o, "last_exit_at"),
              o.getString("last_restart_reason", "")));
    } catch (IOException | RuntimeException e) {
      Path aside = f.resolveSibling(f.getFileName() + ".corrupt-" + System.currentTimeMillis());
      try {
        Files.move(f, aside);
      } catch (IOException moveFailed) {
        LOG.warning(() -> "could not set aside " + f + ": " + moveFailed);
      }
      String problem =
          "state of "
              + agentId
              + " was unreadable ("
              + e.getClass().getSimpleName()
              + ": "
              + e.getMessage()
              + "); set aside as "
              + aside.getFileName();
      synchronized (problems) {
        problems.add(problem);
      }
      LOG.warning(problem);
      return Optional.empty();
    }
  }

  /** Replaces the stored record of the agent, atomically and durably. */
  public void save(StoredAgent s) throws IOException {
    Files.createDirectories(dir);
    JsonObjectBuilder b =
        JSON.createObjectBuilder()
            .add("agent_id", s.agentId())
            .add("pid", s.pid())
            .add("command_line", s.commandLine())
            .add("lifecycle", s.lifecycle())
            .add("restart_count", s.restartCount())
            .add("last_restart_reason", s.lastRestartReason());
    s.processStart()
        .ifPresentOrElse(
            t -> b.add("process_start", t.toString()), () -> b.addNull("process_start"));
    s.lastExitCode()
        .ifPresentOrElse(c -> b.add("last_exit_code", c), () -> b.addNull("last_exit_code"));
    s.lastExitAt()
        .ifPresentOrElse(t -> b.add("last_exit_at", t.toString()), () -> b.addNull("last_exit_at"));
    byte[] json = b.build().toString().getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(file(s.agentId()), json);
  }

  /** Forgets an agent (removed from the configuration). */
  public void delete(String agentId) throws IOException {
    Files.deleteIfExists(file(agentId));
  }

  /** Files set aside since the daemon started, for the daemon's status. */
  public List<String> problems() {
    synchronized (problems) {
      return List.copyOf(problems);
    }
  }

  private static Optional<Instant> instant(JsonObject o, String key) {
    JsonValue v = o.get(key);
    return v == null || v == JsonValue.NULL
        ? Optional.empty()
        : Optional.of(Instant.parse(o.getString(key)));
  }
}
