package io.opsscaffold.daemon.supervision;

import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/** The daemon's agents: one {@link AgentRunner} each, created from the configuration. Thread-safe. */
public final class Supervisor implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Supervisor.class.getName());

  /** How many lines of output an unexpected exit reports. */
  static final int EXIT_LOG_LINES = 10;

  private final Map<String, AgentRunner> runners = new LinkedHashMap<>();
  private final java.util.concurrent.ScheduledExecutorService rotation;

  public Supervisor(
      List<AgentSpec> specs, ProcessLauncher launcher, StateListener listener, Clock clock, Tracer tracer) {
    this(specs, launcher, listener, clock, tracer, null);
  }

  /** With {@code logs}, output files are rotated every second and exits report their last lines. */
  public Supervisor(List<AgentSpec> specs, ProcessLauncher launcher, StateListener listener, Clock clock,
      Tracer tracer, io.opsscaffold.daemon.logs.AgentLogs logs) {
    for (AgentSpec spec : specs) {
      java.util.function.Function<String, List<String>> tail =
          logs == null ? id -> List.of() : id -> logs.tail(id, EXIT_LOG_LINES);
      runners.put(spec.id(), new AgentRunner(spec, launcher, listener, clock, tracer, tail));
      if (logs != null) {
        logs.register(spec.id(), spec.log());
      }
    }
    if (logs != null) {
      rotation = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("log-rotation").daemon(true).unstarted(r));
      rotation.scheduleWithFixedDelay(logs::rotateOversized, 1, 1, TimeUnit.SECONDS);
    } else {
      rotation = null;
    }
  }

  /** Starts every agent marked autostart. Does not wait for them. */
  public void startAll() {
    for (AgentRunner r : runners.values()) {
      if (r.spec().autostart()) {
        r.start(Context.root());
      }
    }
  }

  public Optional<AgentRunner> runner(String agentId) {
    return Optional.ofNullable(runners.get(agentId));
  }

  public List<String> agentIds() {
    return List.copyOf(runners.keySet());
  }

  /** Every agent's current state, in configuration order. */
  public List<AgentSnapshot> snapshots() {
    List<AgentSnapshot> all = new ArrayList<>();
    for (AgentRunner r : runners.values()) {
      all.add(r.snapshot());
    }
    return all;
  }

  /** Records a heartbeat; false when no such agent is supervised. */
  public boolean heartbeat(String agentId, Instant at, java.util.OptionalLong progress, Context ctx) {
    AgentRunner r = runners.get(agentId);
    if (r == null) {
      return false;
    }
    r.heartbeat(at, progress, ctx);
    return true;
  }

  /** Every runner, in configuration order. */
  public List<AgentRunner> runners() {
    return List.copyOf(runners.values());
  }

  /**
   * Stops every agent (in parallel, each with its own stop timeout) and waits for them, when
   * {@code stopAgents}; then ends the runner threads.
   */
  public void close(boolean stopAgents) {
    if (stopAgents) {
      List<CompletableFuture<AgentSnapshot>> stops = new ArrayList<>();
      Duration longest = Duration.ZERO;
      for (AgentRunner r : runners.values()) {
        stops.add(r.stop(Context.root()));
        if (r.spec().stopTimeout().compareTo(longest) > 0) {
          longest = r.spec().stopTimeout();
        }
      }
      try {
        CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new))
            .get(longest.toMillis() + 3_000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.warning("not every agent stopped in time: " + e);
      }
    }
    runners.values().forEach(AgentRunner::close);
    if (rotation != null) {
      rotation.shutdownNow();
    }
  }

  @Override
  public void close() {
    close(true);
  }
}
