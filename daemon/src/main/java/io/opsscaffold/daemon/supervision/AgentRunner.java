package io.opsscaffold.daemon.supervision;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.health.Health;
import io.opsscaffold.daemon.health.HealthTracker;
import io.opsscaffold.daemon.restart.RestartDecision;
import io.opsscaffold.daemon.restart.RestartTracker;
import io.opsscaffold.time.Scheduled;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.logging.Logger;

/**
 * Owns one supervised agent: its process, its lifecycle and everything the daemon knows about it.
 *
 * <p>All state lives on the runner's single thread; {@link #start}, {@link #stop}, {@link #restart}
 * and {@link #heartbeat} may be called from any thread and hand their work to it. Process exits
 * arrive from the JDK's reaper thread and are handed over the same way, so no lock is needed and
 * every change is published to the {@link StateListener} in order.
 *
 * <p>Lifecycle: a launched process is STARTING until it has stayed up for {@code start-seconds},
 * then RUNNING. An exit nobody asked for goes to the {@link RestartTracker}: RESTARTING (waiting
 * out an exponentially growing delay), CRASH_LOOP (too many failures in a row; retried at the
 * capped delay), or STOPPED when the policy says so. A launch that fails outright is FAILED (and
 * retried the same way). When a process group leader exits, whatever is left of its group is
 * killed, so no grandchild outlives its agent.
 *
 * <p>Every delay (start-seconds, the stop timeout, restart backoff) waits on the injected {@link
 * Time}, and the restart jitter comes from the injected random source.
 */
public final class AgentRunner implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AgentRunner.class.getName());
  private static final Map<Integer, String> SIGNALS =
      Map.of(
          1, "HUP", 2, "INT", 3, "QUIT", 6, "ABRT", 9, "KILL", 11, "SEGV", 13, "PIPE", 15, "TERM");

  private final AgentSpec spec;
  private final ProcessLauncher launcher;
  private final StateListener listener;
  private final Clock clock;
  private final Tracer tracer;
  private final RestartTracker tracker;
  private final HealthTracker healthTracker;
  private final java.util.function.Function<String, List<String>> logTail;
  private final Scheduler thread;

  // Owned by the runner thread.
  private Lifecycle lifecycle = Lifecycle.STOPPED;
  private Health health = Health.UNKNOWN;
  // Written on the runner thread only; volatile for killNow, the daemon's last resort at exit.
  private volatile RunningProcess process;
  private Instant startedAt;
  private Instant lastHeartbeat;
  private Instant publishedHeartbeat; // the heartbeat time the listener last heard
  static final Duration MIN_HEARTBEAT_REFRESH = Duration.ofSeconds(1);
  static final Duration MAX_HEARTBEAT_REFRESH = Duration.ofSeconds(15);
  private OptionalInt lastExitCode = OptionalInt.empty();
  private Instant lastExitAt;
  private int restartCount;
  private String message = "not started";
  private List<String> lastLogLines = List.of();
  private String lastRestartReason = "";
  private boolean wanted;
  // Meant to be stopped: true until a start, and again after a stop that was asked for.
  private boolean stopRequested = true;
  private Scheduled pendingRestart;
  // The operator's restart being carried out, which a second restart request joins.
  private CompletableFuture<AgentSnapshot> restartInFlight;
  private Scheduled pendingKill;
  private Scheduled pendingConfirm;
  private final List<CompletableFuture<AgentSnapshot>> stopWaiters = new ArrayList<>();
  private final List<CompletableFuture<AgentSnapshot>> startWaiters = new ArrayList<>();
  private Context cause = Context.root();
  private String unhealthyRestart;
  // Published for other threads (the health monitor) to read without a hop.
  private volatile long visiblePid;
  private volatile Instant visibleStartedAt;
  private volatile boolean visibleRunning;

  public AgentRunner(
      AgentSpec spec, ProcessLauncher launcher, StateListener listener, Time time, Tracer tracer) {
    this(spec, launcher, listener, time, Math::random, tracer, id -> List.of());
  }

  /**
   * @param random the restart jitter's source, uniform in [0, 1)
   * @param logTail the last lines of an agent's output, read after an unexpected exit
   */
  public AgentRunner(
      AgentSpec spec,
      ProcessLauncher launcher,
      StateListener listener,
      Time time,
      DoubleSupplier random,
      Tracer tracer,
      java.util.function.Function<String, List<String>> logTail) {
    this.logTail = logTail;
    this.spec = spec;
    this.launcher = launcher;
    this.listener = listener;
    this.clock = time.clock();
    this.tracer = tracer;
    this.tracker = new RestartTracker(spec.restart(), clock, random);
    this.healthTracker = new HealthTracker(spec.health(), clock);
    this.thread = time.scheduler("agent-" + spec.id());
  }

  public AgentSpec spec() {
    return spec;
  }

  /**
   * Starts the agent unless it is running; completes once the start counts as successful (RUNNING),
   * or when it failed (FAILED, or the process died within start-seconds).
   */
  public CompletableFuture<AgentSnapshot> start(Context ctx) {
    return onThread(
        ctx,
        () -> {
          wanted = true;
          stopRequested = false;
          tracker.reset();
          if (process != null && lifecycle == Lifecycle.RUNNING) {
            return CompletableFuture.completedFuture(
                snapshot("already running (pid " + process.pid() + ")"));
          }
          CompletableFuture<AgentSnapshot> done = new CompletableFuture<>();
          startWaiters.add(done);
          if (process == null) {
            cancelRestart();
            launch();
          }
          return done;
        });
  }

  /**
   * Stops the agent: the stop signal to its process group, SIGKILL to the group after the stop
   * timeout. Completes once the process has exited.
   */
  public CompletableFuture<AgentSnapshot> stop(Context ctx) {
    return onThread(
        ctx,
        () -> {
          wanted = false;
          stopRequested = true;
          cancelRestart();
          if (process == null) {
            if (lifecycle != Lifecycle.STOPPED) {
              lifecycle = Lifecycle.STOPPED;
              message = "stopped";
              publish();
            }
            return CompletableFuture.completedFuture(snapshot("already stopped"));
          }
          CompletableFuture<AgentSnapshot> done = new CompletableFuture<>();
          stopWaiters.add(done);
          if (lifecycle != Lifecycle.STOPPING) {
            cancelConfirm();
            lifecycle = Lifecycle.STOPPING;
            message =
                "stopping (SIG"
                    + spec.stopSignal()
                    + " sent to process group "
                    + process.pid()
                    + ")";
            publish();
            RunningProcess p = process;
            p.signalGroup(spec.stopSignal());
            pendingKill =
                thread.schedule(
                    spec.stopTimeout(),
                    () -> {
                      if (process == p) {
                        LOG.warning(
                            () ->
                                spec.id()
                                    + " did not exit within "
                                    + spec.stopTimeout().toMillis()
                                    + " ms of SIG"
                                    + spec.stopSignal()
                                    + "; sending SIGKILL to its process group");
                        p.signalGroup("KILL");
                      }
                    });
          }
          return done;
        });
  }

  /**
   * Takes over a process an earlier daemon started (it survived that daemon): RUNNING at once, with
   * the remembered counters; its exit is handled like any other.
   */
  public CompletableFuture<AgentSnapshot> adopt(
      RunningProcess p, Instant processStart, io.opsscaffold.daemon.store.StoredAgent stored) {
    return onThread(
        Context.root(),
        () -> {
          wanted = true;
          stopRequested = false;
          process = p;
          startedAt = processStart;
          restartCount = stored.restartCount();
          lastExitCode = stored.lastExitCode();
          lastExitAt = stored.lastExitAt().orElse(null);
          lastRestartReason = stored.lastRestartReason();
          tracker.started();
          healthTracker.started();
          lifecycle = Lifecycle.RUNNING;
          health = Health.HEALTHY;
          message =
              "adopted (pid " + p.pid() + ", started " + processStart + " by an earlier daemon)";
          p.onExit()
              .whenComplete(
                  (code, error) -> thread.execute(() -> exited(p, code == null ? -1 : code)));
          publish();
          return CompletableFuture.completedFuture(snapshot(message));
        });
  }

  /**
   * Stops, then starts; completes with the new process running. Never blocks the caller: the old
   * pid is read on the runner thread, which then carries out the stop and the start.
   */
  public CompletableFuture<AgentSnapshot> restart(Context ctx) {
    return thread
        .submit(
            () -> {
              if (restartInFlight != null) {
                // Two requests, one restart: the second one is answered with the first one's
                // outcome and says so, instead of claiming a restart of its own.
                return restartInFlight.thenApply(
                    s -> withMessage(s, "joined the restart already in progress: " + s.message()));
              }
              long oldPid = process == null ? 0L : process.pid();
              CompletableFuture<AgentSnapshot> restart =
                  stop(ctx)
                      .thenCompose(s -> start(ctx))
                      .thenApply(
                          s -> {
                            String m =
                                s.lifecycle() == Lifecycle.RUNNING
                                    ? "restarted (pid " + oldPid + " -> " + s.pid() + ")"
                                    : s.message();
                            return withMessage(s, m);
                          });
              restartInFlight = restart;
              restart.whenComplete(
                  (s, e) ->
                      thread.execute(
                          () -> {
                            if (restartInFlight == restart) {
                              restartInFlight = null;
                            }
                          }));
              return restart;
            })
        .thenCompose(f -> f);
  }

  /**
   * Records a heartbeat received at {@code at}, with the agent's progress counter if it sent one.
   */
  public void heartbeat(Instant at, java.util.OptionalLong progress, Context ctx) {
    thread.execute(
        () -> {
          lastHeartbeat = at;
          healthTracker.heartbeat(progress);
          if (publishedHeartbeat != null
              && at.isBefore(publishedHeartbeat.plus(heartbeatRefresh()))) {
            return; // only the time moved on: it goes up with the next change or refresh
          }
          Context previous = cause;
          cause = ctx;
          publish();
          cause = previous;
        });
  }

  /**
   * A resource measurement of the current process (from the health monitor's thread).
   *
   * @param cpuPercent percent of one core since the previous measurement
   * @param rssBytes resident memory
   */
  public void observeResources(double cpuPercent, long rssBytes) {
    thread.execute(() -> healthTracker.resources(cpuPercent, rssBytes));
  }

  /**
   * The daemon was not running for {@code gap} (paused or suspended; from the health monitor's
   * thread): the agent gets a fresh heartbeat timeout before it is judged again.
   */
  public void resumed(Duration gap) {
    thread.execute(healthTracker::grace);
  }

  /** A health probe result (from a probe's thread). */
  public void observeProbe(boolean ok, String detail) {
    thread.execute(() -> healthTracker.probe(ok, detail));
  }

  /**
   * Judges health now; publishes a change, and restarts an unhealthy agent through the restart
   * backoff when its policy says so. Called periodically by the health monitor.
   */
  public void checkHealth() {
    thread.execute(
        () -> {
          if (lifecycle != Lifecycle.RUNNING || process == null) {
            return;
          }
          HealthTracker.Verdict v = healthTracker.evaluate();
          if (v.health() == health) {
            return;
          }
          health = v.health();
          cause = Context.root();
          message = v.healthy() ? "running (pid " + process.pid() + ")" : v.reason();
          publish();
          if (!v.healthy() && spec.health().restart()) {
            LOG.warning(
                () -> spec.id() + " is " + v.health() + " (" + v.reason() + "); restarting it");
            unhealthyRestart = v.health() + ": " + v.reason();
            lifecycle = Lifecycle.STOPPING;
            message = "restarting because " + unhealthyRestart;
            publish();
            RunningProcess p = process;
            p.signalGroup(spec.stopSignal());
            pendingKill =
                thread.schedule(
                    spec.stopTimeout(),
                    () -> {
                      if (process == p) {
                        p.signalGroup("KILL");
                      }
                    });
          }
        });
  }

  /**
   * The last resort when the runner thread did not stop the agent in time while the daemon exits:
   * SIGKILL to the agent's process group, sent from the calling thread.
   *
   * @return the pid signalled, or 0 when no process runs
   */
  long killNow() {
    RunningProcess p = process;
    if (p == null) {
      return 0;
    }
    p.signalGroup("KILL");
    return p.pid();
  }

  /** The pid of a RUNNING process, or 0; readable from any thread without waiting. */
  public long runningPid() {
    return visibleRunning ? visiblePid : 0;
  }

  /** When the current process started; readable from any thread. */
  public Optional<Instant> runningSince() {
    return Optional.ofNullable(visibleStartedAt);
  }

  /** The latest state; blocks briefly for the runner thread. */
  public AgentSnapshot snapshot() {
    try {
      return thread.submit(() -> snapshot(message)).get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("runner of " + spec.id() + " did not answer", e);
    }
  }

  private void launch() {
    lifecycle = Lifecycle.STARTING;
    health = Health.UNKNOWN;
    message = "starting";
    publish();
    Span span =
        tracer
            .spanBuilder("process.start")
            .setParent(cause)
            .setAttribute("ops.agent.id", spec.id())
            .setAttribute("process.executable.path", spec.command())
            .startSpan();
    try {
      RunningProcess p = launcher.launch(spec);
      process = p;
      startedAt = clock.instant();
      tracker.started();
      healthTracker.started();
      health = Health.HEALTHY;
      span.setAttribute("process.pid", p.pid());
      p.onExit()
          .whenComplete((code, error) -> thread.execute(() -> exited(p, code == null ? -1 : code)));
      if (spec.startSeconds().isZero()) {
        confirmStart(p);
      } else {
        message =
            "starting (pid "
                + p.pid()
                + "; running once up for "
                + spec.startSeconds().toMillis()
                + " ms)";
        publish();
        pendingConfirm = thread.schedule(spec.startSeconds(), () -> confirmStart(p));
      }
    } catch (IOException | RuntimeException e) {
      span.recordException(e);
      lifecycle = Lifecycle.FAILED;
      health = Health.DEAD;
      message = "could not start: " + e.getMessage();
      LOG.warning(() -> spec.id() + " " + message);
      RestartDecision d = tracker.launchFailed();
      if (wanted) {
        scheduleRestart(d, Lifecycle.FAILED);
      }
      publish();
      completeStart();
    } finally {
      span.end();
    }
  }

  private void confirmStart(RunningProcess p) {
    pendingConfirm = null;
    if (process != p || lifecycle != Lifecycle.STARTING) {
      return;
    }
    lifecycle = Lifecycle.RUNNING;
    message = "running (pid " + p.pid() + ")";
    publish();
    completeStart();
  }

  private void exited(RunningProcess p, int code) {
    if (p != process) {
      return;
    }
    process = null;
    cancelConfirm();
    if (pendingKill != null) {
      pendingKill.cancel();
      pendingKill = null;
    }
    p.signalGroup("KILL"); // whatever is left of the group (children that ignored the stop signal)
    lastExitCode = code == -1 ? OptionalInt.empty() : OptionalInt.of(code);
    lastExitAt = clock.instant();
    boolean duringStart = lifecycle == Lifecycle.STARTING;
    startedAt = null;
    health = Health.DEAD;
    String how = describeExit(code);
    if (unhealthyRestart != null && wanted) {
      String why = unhealthyRestart;
      unhealthyRestart = null;
      message = "restarted because " + why + " (" + how + ")";
      lastRestartReason = why;
      RestartDecision d = tracker.unhealthy();
      scheduleRestart(d, d.crashLoop() ? Lifecycle.CRASH_LOOP : Lifecycle.RESTARTING);
      publish();
      return;
    }
    unhealthyRestart = null;
    if (!wanted || lifecycle == Lifecycle.STOPPING) {
      lifecycle = Lifecycle.STOPPED;
      message = "stopped (" + how + ")";
      publish();
      AgentSnapshot s = snapshot(message);
      stopWaiters.forEach(w -> w.complete(s));
      stopWaiters.clear();
      return;
    }
    LOG.warning(
        () -> spec.id() + " (pid " + p.pid() + ") " + how + (duringStart ? " while starting" : ""));
    cause = Context.root();
    lastLogLines = List.copyOf(logTail.apply(spec.id()));
    message = how + (duringStart ? " within start-seconds" : "");
    RestartDecision d = tracker.exited(code);
    if (d.restartAfter().isPresent()) {
      lastRestartReason = message;
    }
    scheduleRestart(d, d.crashLoop() ? Lifecycle.CRASH_LOOP : Lifecycle.RESTARTING);
    publish();
    completeStart();
  }

  private static String describeExit(int code) {
    if (code == -1) {
      return "exited (status unknown: the process was adopted, not started by this daemon)";
    }
    if (code > 128 && code < 128 + 65) {
      int sig = code - 128;
      return "killed by signal "
          + sig
          + Optional.ofNullable(SIGNALS.get(sig)).map(n -> " (" + n + ")").orElse("");
    }
    return "exited with code " + code;
  }

  private void scheduleRestart(RestartDecision decision, Lifecycle waitingLifecycle) {
    if (decision.restartAfter().isEmpty()) {
      lifecycle = lifecycle == Lifecycle.FAILED ? Lifecycle.FAILED : Lifecycle.STOPPED;
      wanted = false;
      return;
    }
    Duration delay = decision.restartAfter().get();
    lifecycle = waitingLifecycle;
    message =
        message
            + "; restart "
            + decision.failures()
            + " in "
            + delay.toMillis()
            + " ms"
            + (decision.crashLoop()
                ? " (crash loop: " + decision.failures() + " failures in a row)"
                : "");
    pendingRestart =
        thread.schedule(
            delay,
            () -> {
              pendingRestart = null;
              if (wanted && process == null) {
                restartCount++;
                launch();
              }
            });
  }

  /** Answers start() callers: the start succeeded (RUNNING) or this attempt failed. */
  private void completeStart() {
    if (startWaiters.isEmpty()) {
      return;
    }
    AgentSnapshot s = snapshot(message);
    startWaiters.forEach(w -> w.complete(s));
    startWaiters.clear();
  }

  private void cancelRestart() {
    if (pendingRestart != null) {
      pendingRestart.cancel();
      pendingRestart = null;
    }
  }

  private void cancelConfirm() {
    if (pendingConfirm != null) {
      pendingConfirm.cancel();
      pendingConfirm = null;
    }
  }

  /**
   * How often a heartbeat that changes nothing but its own time is sent to the manager: a quarter
   * of the heartbeat timeout, but not more often than once a second unless the timeout is under 2 s
   * (then half of it), and at least every 15 s. So the manager's copy never looks stale while the
   * daemon still hears the agent, and an agent heartbeating 100 times a second costs the link about
   * one delta a second. Health changes (NO_HEARTBEAT and back) go up at once, from the health
   * check.
   */
  Duration heartbeatRefresh() {
    Optional<Duration> timeout = healthTracker.heartbeatTimeout();
    if (timeout.isEmpty()) {
      return MAX_HEARTBEAT_REFRESH;
    }
    Duration refresh = timeout.get().dividedBy(4);
    refresh = refresh.compareTo(MIN_HEARTBEAT_REFRESH) < 0 ? MIN_HEARTBEAT_REFRESH : refresh;
    Duration half = timeout.get().dividedBy(2);
    refresh = refresh.compareTo(half) > 0 ? half : refresh;
    return refresh.compareTo(MAX_HEARTBEAT_REFRESH) > 0 ? MAX_HEARTBEAT_REFRESH : refresh;
  }

  private void publish() {
    publishedHeartbeat = lastHeartbeat;
    visiblePid = process == null ? 0 : process.pid();
    visibleStartedAt = startedAt;
    visibleRunning = lifecycle == Lifecycle.RUNNING;
    listener.changed(snapshot(message), cause);
  }

  private AgentSnapshot snapshot(String msg) {
    return new AgentSnapshot(
        spec.id(),
        spec.type(),
        lifecycle,
        health,
        process == null ? 0 : process.pid(),
        Optional.ofNullable(startedAt),
        Optional.ofNullable(lastHeartbeat),
        healthTracker.heartbeatTimeout().orElse(Duration.ZERO),
        lastExitCode,
        Optional.ofNullable(lastExitAt),
        restartCount,
        msg,
        lastLogLines,
        lastRestartReason,
        stopRequested);
  }

  private static AgentSnapshot withMessage(AgentSnapshot s, String m) {
    return new AgentSnapshot(
        s.agentId(),
        s.type(),
        s.lifecycle(),
        s.health(),
        s.pid(),
        s.startedAt(),
        s.lastHeartbeat(),
        s.heartbeatTimeout(),
        s.lastExitCode(),
        s.lastExitAt(),
        s.restartCount(),
        m,
        s.lastLogLines(),
        s.lastRestartReason(),
        s.stopRequested());
  }

  /** Runs {@code work} on the runner thread with {@code ctx} as the cause of what it publishes. */
  private CompletableFuture<AgentSnapshot> onThread(
      Context ctx, java.util.concurrent.Callable<CompletableFuture<AgentSnapshot>> work) {
    CompletableFuture<AgentSnapshot> result = new CompletableFuture<>();
    thread.execute(
        () -> {
          cause = ctx;
          try {
            work.call()
                .whenComplete(
                    (s, e) -> {
                      if (e != null) {
                        result.completeExceptionally(e);
                      } else {
                        result.complete(s);
                      }
                    });
          } catch (Exception e) {
            result.completeExceptionally(e);
          }
        });
    return result;
  }

  /** Stops the runner thread; the process is left as it is (see {@link Supervisor#close}). */
  @Override
  public void close() {
    thread.close();
  }
}
