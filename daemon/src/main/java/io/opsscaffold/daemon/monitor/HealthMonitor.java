package io.opsscaffold.daemon.monitor;

import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.supervision.AgentHttp;
import io.opsscaffold.daemon.supervision.AgentRunner;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Drives the health checks: once a second it asks each running agent's runner to judge its health;
 * every {@code sampleInterval} it measures each agent process and the host (kept in capped
 * histories for the metrics API); each agent's HTTP probe runs on its own period, on a virtual
 * thread, so a slow probe never delays the others. One scheduler thread.
 */
public final class HealthMonitor implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(HealthMonitor.class.getName());

  /** Samples kept per agent: one hour at the default 5 s interval. */
  static final int HISTORY = 720;

  private final Supervisor supervisor;
  private final ResourceMonitor resources;
  private final Duration sampleInterval;
  private final Clock clock;
  private final Scheduler timer;
  private final Time time;

  /** Ticks come every second; a gap this long means the daemon itself was not running. */
  private final PauseDetector pauses = new PauseDetector(Duration.ofSeconds(5));

  private final Map<String, SampleHistory<ProcessSample>> histories = new ConcurrentHashMap<>();
  private final SampleHistory<HostSample> hostHistory =
      new SampleHistory<>(HISTORY, HostSample::at);
  private final Map<String, Instant> nextProbe = new ConcurrentHashMap<>();
  private final Map<String, Boolean> probing = new ConcurrentHashMap<>();
  private Instant nextSample = Instant.MIN;

  /**
   * @param time the once-a-second tick and the sample and probe schedules run on it
   */
  public HealthMonitor(
      Supervisor supervisor, ResourceMonitor resources, Duration sampleInterval, Time time) {
    this.supervisor = supervisor;
    this.resources = resources;
    this.sampleInterval = sampleInterval;
    this.clock = time.clock();
    this.time = time;
    this.timer = time.scheduler("health");
  }

  public void start() {
    timer.scheduleWithFixedDelay(Duration.ofSeconds(1), Duration.ofSeconds(1), this::tick);
  }

  /** The resource history of an agent (empty when never sampled). */
  public SampleHistory<ProcessSample> history(String agentId) {
    return histories.computeIfAbsent(
        agentId, id -> new SampleHistory<>(HISTORY, ProcessSample::at));
  }

  public SampleHistory<HostSample> hostHistory() {
    return hostHistory;
  }

  void tick() {
    try {
      Instant now = clock.instant();
      pauses
          .observe(time.nanos())
          .ifPresent(
              gap -> {
                LOG.warning(
                    () ->
                        "the daemon was not running for "
                            + gap.toMillis()
                            + " ms (paused, suspended or stalled); every agent gets a fresh"
                            + " heartbeat timeout before it is judged");
                supervisor.runners().forEach(r -> r.resumed(gap));
              });
      boolean sample = !now.isBefore(nextSample);
      if (sample) {
        nextSample = now.plus(sampleInterval);
        hostHistory.add(resources.host());
      }
      Set<Long> sampled = sample ? new HashSet<>() : Set.of();
      for (AgentRunner runner : supervisor.runners()) {
        long pid = runner.runningPid();
        if (pid <= 0) {
          continue;
        }
        if (sample) {
          sampled.add(pid);
          Optional<ProcessSample> s = resources.sample(pid);
          s.ifPresent(
              value -> {
                history(runner.spec().id()).add(value);
                runner.observeResources(value.cpuPercent(), value.rssBytes());
              });
        }
        runner.spec().health().probe().ifPresent(probe -> maybeProbe(runner, probe, now));
        runner.checkHealth();
      }
      if (sample) {
        resources.retainOnly(sampled);
      }
    } catch (RuntimeException e) {
      LOG.warning(() -> "health check round failed: " + e);
    }
  }

  private void maybeProbe(AgentRunner runner, HealthPolicy.Probe probe, Instant now) {
    String id = runner.spec().id();
    Instant since = runner.runningSince().orElse(now);
    if (now.isBefore(since.plus(probe.initialDelay())) || probing.getOrDefault(id, false)) {
      return;
    }
    Instant due = nextProbe.getOrDefault(id, Instant.MIN);
    if (now.isBefore(due)) {
      return;
    }
    nextProbe.put(id, now.plus(probe.period()));
    probing.put(id, true);
    Thread.ofVirtual()
        .name("probe-" + id)
        .start(
            () -> {
              try {
                AgentHttp.Answer res = AgentHttp.get(URI.create(probe.url()), probe.timeout());
                runner.observeProbe(res.ok(), "GET " + probe.url() + " answered " + res.status());
              } catch (AgentHttp.TimedOut e) {
                runner.observeProbe(
                    false,
                    "GET "
                        + probe.url()
                        + " timed out after "
                        + probe.timeout().toMillis()
                        + " ms");
              } catch (Exception e) {
                runner.observeProbe(false, "GET " + probe.url() + " failed: " + e.getMessage());
              } finally {
                probing.put(id, false);
              }
            });
  }

  @Override
  public void close() {
    timer.close();
  }
}
