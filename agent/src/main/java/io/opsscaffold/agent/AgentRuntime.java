package io.opsscaffold.agent;

import io.opsscaffold.agent.config.AgentSettings;
import io.opsscaffold.agent.faults.FaultInjector;
import io.opsscaffold.agent.heartbeat.AgentCounters;
import io.opsscaffold.agent.heartbeat.HeartbeatLoop;
import io.opsscaffold.agent.heartbeat.HeartbeatTransport;
import io.opsscaffold.agent.heartbeat.HttpHeartbeatTransport;
import io.opsscaffold.agent.heartbeat.UnixSocketHeartbeatTransport;
import io.opsscaffold.agent.resources.SelfMonitor;
import io.opsscaffold.agent.state.StateFile;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The running agent: its configuration (replaced on reload), counters, heartbeat loop, faults and
 * state file. {@link #reload} is serialized; readers see the current settings through a volatile.
 */
public final class AgentRuntime {
  private static final Logger LOG = Logger.getLogger(AgentRuntime.class.getName());

  /** The outcome of a reload: the HTTP status to answer (200, 400, 500) and why. */
  public record ReloadResult(int status, String message, Instant at) {}

  private final Path configFile;
  private final Instant processStarted = Instant.now();
  private final Instant firstStarted;
  private final long runs;
  private final AgentCounters counters;
  private final SelfMonitor monitor = new SelfMonitor();
  private final FaultInjector faults = new FaultInjector();
  private final StateFile stateFile;
  private final HeartbeatLoop heartbeats;
  private volatile AgentSettings settings;
  private volatile String status = "running";

  public AgentRuntime(Path configFile, AgentSettings settings) {
    this.configFile = configFile;
    this.settings = settings;
    this.stateFile = new StateFile(settings.stateFile());
    Optional<StateFile.State> saved = stateFile.load(settings.agentId());
    this.firstStarted = saved.map(StateFile.State::firstStartedAt).orElse(processStarted);
    this.runs = saved.map(s -> s.runs() + 1).orElse(1L);
    this.counters =
        saved
            .map(
                s ->
                    new AgentCounters(
                        processStarted,
                        s.heartbeatCount(),
                        s.heartbeatFailures(),
                        s.eventsProcessed(),
                        s.lastHeartbeat()))
            .orElseGet(() -> new AgentCounters(processStarted, 0, 0, 0, null));
    saved.ifPresent(
        s ->
            LOG.info(
                () ->
                    "continuing from "
                        + stateFile.path()
                        + ": run "
                        + runs
                        + ", "
                        + s.heartbeatCount()
                        + " heartbeats so far"));
    this.heartbeats =
        new HeartbeatLoop(
            settings.agentId(), transport(settings), counters, monitor, faults, c -> saveState());
  }

  /** Applies the faults and starts heartbeating. */
  public void start() {
    faults.apply(settings.faults());
    heartbeats.start(settings.heartbeatInterval());
    saveState();
  }

  public AgentSettings settings() {
    return settings;
  }

  public AgentCounters counters() {
    return counters;
  }

  public SelfMonitor monitor() {
    return monitor;
  }

  public FaultInjector faults() {
    return faults;
  }

  public HeartbeatLoop heartbeats() {
    return heartbeats;
  }

  public Instant processStarted() {
    return processStarted;
  }

  /** "running", or "stopping" once shutdown began. */
  public String status() {
    return status;
  }

  /**
   * Re-reads the configuration file. A file that does not parse or validate (or a running or new
   * configuration with {@code faults.reject_reload}) answers 400 and changes nothing; a file that
   * cannot be read answers 500.
   */
  public synchronized ReloadResult reload() {
    Instant at = Instant.now();
    if (!Files.isReadable(configFile)) {
      return new ReloadResult(500, "cannot read " + configFile, at);
    }
    AgentSettings next;
    try {
      next = AgentSettings.read(Settings.loadLean(Optional.of(configFile), true));
    } catch (SettingsException e) {
      LOG.warning(() -> "reload refused, keeping the running configuration: " + e.getMessage());
      return new ReloadResult(400, e.getMessage(), at);
    }
    AgentSettings running = settings;
    if (running.faults().rejectReload() || next.faults().rejectReload()) {
      LOG.warning("reload refused (faults.reject_reload)");
      return new ReloadResult(
          400,
          "configuration rejected by the agent (faults.reject_reload); "
              + "the running configuration stays in force",
          at);
    }
    if (!next.agentId().equals(running.agentId())) {
      return new ReloadResult(
          400,
          "agent_id cannot change on reload (running as "
              + running.agentId()
              + ", file says "
              + next.agentId()
              + "); restart the agent instead",
          at);
    }
    try {
      if (!next.daemonUrl().equals(running.daemonUrl())
          || !next.daemonSocket().equals(running.daemonSocket())) {
        heartbeats.switchTransport(transport(next));
      }
      settings = next;
      faults.apply(next.faults());
      if (!next.heartbeatInterval().equals(running.heartbeatInterval())) {
        heartbeats.start(next.heartbeatInterval());
      }
      setLogLevel(next.logLevel());
    } catch (RuntimeException e) {
      LOG.log(Level.SEVERE, "reload failed while applying the new configuration", e);
      return new ReloadResult(500, "reload failed: " + e.getMessage(), at);
    }
    String note =
        next.httpPort() != running.httpPort() || !next.httpHost().equals(running.httpHost())
            ? " (http_host/http_port changes take effect at the next start)"
            : "";
    LOG.info(() -> "configuration reloaded from " + configFile + note);
    return new ReloadResult(200, "configuration reloaded" + note, at);
  }

  /** Writes the counters to the state file; failures are logged, never fatal. */
  public void saveState() {
    try {
      stateFile.save(
          new StateFile.State(
              settings.agentId(),
              firstStarted,
              processStarted,
              runs,
              counters.lastHeartbeat(),
              counters.heartbeats(),
              counters.failures(),
              counters.events()));
    } catch (IOException e) {
      LOG.warning(() -> "could not write state file " + stateFile.path() + ": " + e);
    }
  }

  /**
   * Graceful stop: ends the ticks, sends a last "stopping" heartbeat (waiting up to {@code
   * deadline}), saves the state. Returns whether the daemon accepted the last heartbeat.
   */
  public boolean stop(Duration deadline) {
    status = "stopping";
    heartbeats.stop(Duration.ofMillis(500));
    boolean said = heartbeats.send("stopping", deadline);
    saveState();
    return said;
  }

  static HeartbeatTransport transport(AgentSettings s) {
    return s.daemonSocket()
        .<HeartbeatTransport>map(UnixSocketHeartbeatTransport::new)
        .orElseGet(() -> new HttpHeartbeatTransport(s.daemonUrl().orElseThrow()));
  }

  static void setLogLevel(String level) {
    Level l =
        switch (level) {
          case "debug" -> Level.FINE;
          case "warn" -> Level.WARNING;
          case "error" -> Level.SEVERE;
          default -> Level.INFO;
        };
    Logger root = Logger.getLogger("");
    root.setLevel(l);
    for (var h : root.getHandlers()) {
      h.setLevel(l);
    }
  }
}
