package io.opsscaffold.daemon.supervision;

import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opsscaffold.api.link.v1.AgentOperation;
import io.opsscaffold.daemon.store.AgentStateStore;
import io.opsscaffold.daemon.store.StoredAgent;
import io.opsscaffold.time.Scheduled;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.DoubleSupplier;
import java.util.logging.Logger;

/**
 * The daemon's agents: one {@link AgentRunner} each, created from the configuration. Thread-safe.
 */
public final class Supervisor implements AgentDirectory, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Supervisor.class.getName());

  /** How many lines of output an unexpected exit reports. */
  static final int EXIT_LOG_LINES = 10;

  /** How long past the longest stop timeout close waits before killing what is left. */
  static final Duration STOP_GRACE = Duration.ofSeconds(3);

  // Replaced whole (copy on write) by reload(); readers take the current map without a lock.
  private volatile Map<String, AgentRunner> runners = Map.of();
  private final AgentStateStore store;
  private final ProcessLauncher launcher;
  private final StateListener listener;
  private final Time time;
  private final DoubleSupplier random;
  private final Tracer tracer;
  private final io.opsscaffold.daemon.logs.AgentLogs logs;
  private final AgentStateSaver saver;
  private final Scheduler rotation;

  public Supervisor(
      List<AgentSpec> specs,
      ProcessLauncher launcher,
      StateListener listener,
      Time time,
      Tracer tracer) {
    this(specs, launcher, listener, time, Math::random, tracer, null, null);
  }

  /** With {@code logs}, output files are rotated every second and exits report their last lines. */
  public Supervisor(
      List<AgentSpec> specs,
      ProcessLauncher launcher,
      StateListener listener,
      Time time,
      Tracer tracer,
      io.opsscaffold.daemon.logs.AgentLogs logs) {
    this(specs, launcher, listener, time, Math::random, tracer, logs, null);
  }

  /**
   * With {@code store}, every change of an agent's process (pid, lifecycle, counters) is saved (off
   * the runner threads, retried until it lands), and {@link #startAll} re-adopts agents that
   * survived an earlier daemon instead of starting them again.
   *
   * @param time every delay of supervision waits on it
   * @param random the restart jitter's source, uniform in [0, 1)
   */
  public Supervisor(
      List<AgentSpec> specs,
      ProcessLauncher launcher,
      StateListener listener,
      Time time,
      DoubleSupplier random,
      Tracer tracer,
      io.opsscaffold.daemon.logs.AgentLogs logs,
      AgentStateStore store) {
    this.store = store;
    this.launcher = launcher;
    this.time = time;
    this.random = random;
    this.tracer = tracer;
    this.logs = logs;
    this.saver = store == null ? null : new AgentStateSaver(store, time);
    if (saver != null) {
      StateListener next = listener;
      listener =
          new StateListener() {
            @Override
            public void changed(AgentSnapshot snapshot, Context cause) {
              saver.offer(snapshot);
              next.changed(snapshot, cause);
            }

            @Override
            public void removed(String agentId) {
              next.removed(agentId);
            }
          };
    }
    this.listener = listener;
    Map<String, AgentRunner> initial = new LinkedHashMap<>();
    for (AgentSpec spec : specs) {
      initial.put(spec.id(), newRunner(spec));
    }
    runners = java.util.Collections.unmodifiableMap(initial);
    if (logs != null) {
      rotation = time.scheduler("log-rotation");
      rotation.scheduleWithFixedDelay(
          Duration.ofSeconds(1), Duration.ofSeconds(1), logs::rotateOversized);
    } else {
      rotation = null;
    }
  }

  /**
   * Re-adopts every agent whose process is still running from an earlier daemon (same pid, same
   * start time, same command line, so a reused pid is never mistaken for it), and starts the other
   * agents marked autostart. Does not wait for the starts.
   */
  public void startAll() {
    for (AgentRunner r : runners.values()) {
      Optional<StoredAgent> stored = store == null ? Optional.empty() : store.load(r.spec().id());
      Optional<ProcessHandle> survivor = stored.flatMap(Supervisor::survivor);
      if (survivor.isPresent()) {
        ProcessHandle h = survivor.get();
        LOG.info(() -> "re-adopting " + r.spec().id() + " (pid " + h.pid() + ", still running)");
        r.adopt(new AdoptedProcess(h), h.info().startInstant().orElseThrow(), stored.get());
      } else {
        stored
            .filter(s -> s.pid() > 0)
            .ifPresent(
                s ->
                    LOG.info(
                        () ->
                            r.spec().id()
                                + ": pid "
                                + s.pid()
                                + " from the earlier daemon is gone (or now another process); starting afresh"));
        if (r.spec().autostart()) {
          r.start(Context.root());
        }
      }
    }
  }

  /** The stored process if it still runs as the same process. */
  static Optional<ProcessHandle> survivor(StoredAgent s) {
    if (s.pid() <= 0 || s.processStart().isEmpty()) {
      return Optional.empty();
    }
    return ProcessHandle.of(s.pid())
        .filter(ProcessHandle::isAlive)
        .filter(
            h -> h.info().startInstant().map(t -> t.equals(s.processStart().get())).orElse(false))
        .filter(h -> h.info().commandLine().map(c -> c.equals(s.commandLine())).orElse(false));
  }

  private AgentRunner newRunner(AgentSpec spec) {
    java.util.function.Function<String, List<String>> tail =
        logs == null ? id -> List.of() : id -> logs.tail(id, EXIT_LOG_LINES);
    if (logs != null) {
      logs.register(spec.id(), spec.log());
    }
    return new AgentRunner(spec, launcher, listener, time, random, tracer, tail);
  }

  /** What a reload did to each agent. */
  public record ReloadResult(
      List<String> added, List<String> removed, List<String> changed, List<String> unchanged) {}

  /**
   * Makes the supervised set {@code specs}: removed agents are stopped and forgotten, added agents
   * started (when autostart), changed agents stopped and started with their new spec; agents whose
   * spec did not change are not touched. Serialized; blocks until the stops are done.
   */
  public synchronized ReloadResult reload(List<AgentSpec> specs) {
    Map<String, AgentRunner> current = runners;
    Map<String, AgentRunner> next = new LinkedHashMap<>();
    List<String> added = new ArrayList<>();
    List<String> changed = new ArrayList<>();
    List<String> unchanged = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    List<AgentRunner> toStart = new ArrayList<>();
    for (AgentSpec spec : specs) {
      AgentRunner old = current.get(spec.id());
      if (old != null && old.spec().equals(spec)) {
        next.put(spec.id(), old);
        unchanged.add(spec.id());
        continue;
      }
      if (old != null) {
        stopAndClose(old);
        changed.add(spec.id());
      } else {
        added.add(spec.id());
      }
      AgentRunner fresh = newRunner(spec);
      next.put(spec.id(), fresh);
      if (spec.autostart()) {
        toStart.add(fresh);
      }
    }
    for (AgentRunner old : current.values()) {
      if (!next.containsKey(old.spec().id())) {
        stopAndClose(old);
        removed.add(old.spec().id());
        listener.removed(old.spec().id());
        if (saver != null) {
          saver.forget(old.spec().id());
        }
      }
    }
    runners = java.util.Collections.unmodifiableMap(next);
    toStart.forEach(r -> r.start(Context.root()));
    LOG.info(
        () ->
            "configuration reloaded: added "
                + added
                + ", removed "
                + removed
                + ", changed "
                + changed
                + ", unchanged "
                + unchanged);
    return new ReloadResult(added, removed, changed, unchanged);
  }

  private static void stopAndClose(AgentRunner runner) {
    try {
      runner
          .stop(Context.root())
          .get(runner.spec().stopTimeout().toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warning(() -> "stopping " + runner.spec().id() + " for a reload did not finish: " + e);
    }
    runner.close();
  }

  /** Agents whose latest state could not be written to the store yet (a retry is pending). */
  public java.util.Set<String> unsavedState() {
    return saver == null ? java.util.Set.of() : saver.unsaved();
  }

  /**
   * Starts, stops or restarts {@code agentId}: the one path every API of the daemon (the local API,
   * the manager's commands) takes. Never blocks; completes when the runner is done.
   *
   * @throws io.opsscaffold.errors.OpsException NOT_FOUND when no such agent is supervised,
   *     INVALID_ARGUMENT for an operation that is not start, stop or restart
   */
  public CompletableFuture<AgentSnapshot> operate(
      String agentId, AgentOperation operation, Context ctx) {
    AgentRunner r =
        runner(agentId)
            .orElseThrow(
                () ->
                    io.opsscaffold.errors.OpsException.notFound(
                        "agent '" + agentId + "' is not supervised by this daemon"));
    return switch (operation) {
      case AGENT_OPERATION_START -> r.start(ctx).thenApply(Supervisor::running);
      case AGENT_OPERATION_STOP -> r.stop(ctx);
      case AGENT_OPERATION_RESTART -> r.restart(ctx).thenApply(Supervisor::running);
      default ->
          throw io.opsscaffold.errors.OpsException.invalidArgument(
              "operation "
                  + operation
                  + " is not valid; valid operations: "
                  + String.join(", ", io.opsscaffold.api.AgentOperations.NAMES));
    };
  }

  /**
   * A start's outcome: the agent running, or FAILED_PRECONDITION saying why not (it could not be
   * launched, or it exited before it counted as started), so no caller reports it as done.
   */
  private static AgentSnapshot running(AgentSnapshot s) {
    if (s.lifecycle() != Lifecycle.RUNNING) {
      throw io.opsscaffold.errors.OpsException.failedPrecondition(
          "agent '" + s.agentId() + "' is not running: " + s.message());
    }
    return s;
  }

  @Override
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
  public boolean heartbeat(
      String agentId, Instant at, java.util.OptionalLong progress, Context ctx) {
    AgentRunner r = runners.get(agentId);
    if (r == null) {
      return false;
    }
    r.heartbeat(at, progress, ctx);
    return true;
  }

  @Override
  public List<AgentRunner> runners() {
    return List.copyOf(runners.values());
  }

  /**
   * Stops every agent (in parallel, each with its own stop timeout) and waits for them, when {@code
   * stopAgents}; then ends the runner threads.
   */
  public void close(boolean stopAgents) {
    if (stopAgents) {
      Map<AgentRunner, CompletableFuture<AgentSnapshot>> stops = new LinkedHashMap<>();
      Duration longest = Duration.ZERO;
      for (AgentRunner r : runners.values()) {
        stops.put(r, r.stop(Context.root()));
        if (r.spec().stopTimeout().compareTo(longest) > 0) {
          longest = r.spec().stopTimeout();
        }
      }
      CompletableFuture<Void> all =
          CompletableFuture.allOf(stops.values().toArray(CompletableFuture[]::new));
      CompletableFuture<Void> deadline = new CompletableFuture<>();
      Scheduled timer = time.schedule(longest.plus(STOP_GRACE), () -> deadline.complete(null));
      try {
        CompletableFuture.anyOf(all, deadline).get();
        if (!all.isDone()) {
          throw new TimeoutException();
        }
        all.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException e) {
        // A runner that could not stop its agent (its thread stuck, a signal that never went out):
        // the daemon must not exit leaving the agent behind, so SIGKILL goes out from here.
        stops.forEach(
            (r, stop) -> {
              if (!stop.isDone() || stop.isCompletedExceptionally()) {
                long pid = r.killNow();
                LOG.warning(
                    () ->
                        r.spec().id()
                            + " did not stop in time"
                            + (pid > 0
                                ? "; SIGKILL sent to its process group " + pid
                                : "; no process left"));
              }
            });
      } finally {
        timer.cancel();
      }
    }
    runners.values().forEach(AgentRunner::close);
    if (rotation != null) {
      rotation.close();
    }
    if (saver != null) {
      saver.close();
    }
  }

  @Override
  public void close() {
    close(true);
  }
}
