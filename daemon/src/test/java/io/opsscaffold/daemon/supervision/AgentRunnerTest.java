package io.opsscaffold.daemon.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.testing.Await;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AgentRunnerTest {
  private final FakeProcessLauncher launcher = new FakeProcessLauncher();
  private final BlockingQueue<AgentSnapshot> published = new LinkedBlockingQueue<>();
  private AgentRunner runner;

  private AgentRunner runner(String policy, Duration stopTimeout) {
    AgentSpec spec = new AgentSpec("a1", "test", "/bin/true", List.of(), Path.of("."), Map.of(),
        new RestartPolicy(policy, Duration.ofMillis(20), 2, Duration.ofMillis(50), Duration.ofMinutes(10), 3),
        io.opsscaffold.daemon.health.HealthPolicy.defaults(), stopTimeout, true, Duration.ZERO, "TERM", io.opsscaffold.daemon.logs.LogPolicy.defaults(), java.util.Optional.empty());
    runner = new AgentRunner(spec, launcher, (s, c) -> published.add(s), Clock.systemUTC(),
        TracerProvider.noop().get("test"));
    return runner;
  }

  @AfterEach
  void close() {
    if (runner != null) {
      runner.close();
    }
  }

  /** Waits for the next published state with {@code lifecycle}, skipping others. */
  private AgentSnapshot awaitLifecycle(String lifecycle) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      AgentSnapshot s = published.poll(50, TimeUnit.MILLISECONDS);
      if (s != null && s.lifecycle().equals(lifecycle)) {
        return s;
      }
    }
    throw new AssertionError("no " + lifecycle + " state was published");
  }

  @Test
  void startPublishesStartingThenRunningWithThePid() throws Exception {
    AgentSnapshot started = runner("always", Duration.ofSeconds(1)).start(Context.root()).get(5, TimeUnit.SECONDS);
    assertEquals("RUNNING", started.lifecycle());
    assertEquals("HEALTHY", started.health());
    assertEquals(launcher.last().pid(), started.pid());
    assertEquals("STARTING", published.take().lifecycle());
    assertEquals("RUNNING", published.take().lifecycle());
    AgentSnapshot again = runner.start(Context.root()).get(5, TimeUnit.SECONDS);
    assertEquals(1, launcher.all().size(), "starting a running agent launches nothing");
    assertTrue(again.message().startsWith("already running"));
  }

  @Test
  void aCrashIsRestartedAfterTheDelayWithTheExitRecorded() throws Exception {
    runner("always", Duration.ofSeconds(1)).start(Context.root()).get(5, TimeUnit.SECONDS);
    launcher.last().exitWith(3);
    AgentSnapshot restarting = awaitLifecycle("RESTARTING");
    assertEquals("DEAD", restarting.health());
    assertEquals(0, restarting.pid());
    assertEquals(OptionalInt.of(3), restarting.lastExitCode());
    assertTrue(restarting.message().startsWith("exited with code 3; restart 1 in "), restarting.message());
    AgentSnapshot running = awaitLifecycle("RUNNING");
    assertEquals(1, running.restartCount());
    assertEquals(2, launcher.all().size());
    assertNotEquals(launcher.all().get(0).pid(), running.pid());
  }

  @Test
  void onFailureLeavesACleanExitStoppedAndNeverLeavesAnyExitStopped() throws Exception {
    runner("on-failure", Duration.ofSeconds(1)).start(Context.root()).get(5, TimeUnit.SECONDS);
    launcher.last().exitWith(0);
    AgentSnapshot stopped = awaitLifecycle("STOPPED");
    assertEquals("exited with code 0", stopped.message());
    runner.close();
    published.clear();

    runner("never", Duration.ofSeconds(1)).start(Context.root()).get(5, TimeUnit.SECONDS);
    launcher.last().exitWith(1);
    assertEquals(OptionalInt.of(1), awaitLifecycle("STOPPED").lastExitCode());
    Await.holds(Duration.ofMillis(100), "no restart under 'never' (one would come after 20 ms)",
        () -> launcher.all().size() == 2);
  }

  @Test
  void stopEscalatesToKillOfTheGroupAfterTheTimeout() throws Exception {
    launcher.ignoreTerm = true;
    runner("always", Duration.ofMillis(100)).start(Context.root()).get(5, TimeUnit.SECONDS);
    long begun = System.nanoTime();
    AgentSnapshot stopped = runner.stop(Context.root()).get(5, TimeUnit.SECONDS);
    long tookMs = (System.nanoTime() - begun) / 1_000_000;
    assertEquals("STOPPED", stopped.lifecycle());
    assertEquals(List.of("TERM", "KILL", "KILL"), launcher.last().signals,
        "TERM, KILL after the timeout, and the sweep of the group once the leader is gone");
    assertEquals(OptionalInt.of(137), stopped.lastExitCode());
    assertTrue(tookMs >= 100, "SIGKILL only after the stop timeout (" + tookMs + " ms)");
    Await.holds(Duration.ofMillis(100), "a stopped agent not being restarted", () -> launcher.all().size() == 1);
  }

  @Test
  void stopThatIsHonouredSendsOnlyTerm() throws Exception {
    runner("always", Duration.ofSeconds(5)).start(Context.root()).get(5, TimeUnit.SECONDS);
    AgentSnapshot stopped = runner.stop(Context.root()).get(5, TimeUnit.SECONDS);
    assertEquals(List.of("TERM", "KILL"), launcher.last().signals, "the stop signal, then the sweep of the group");
    assertEquals("stopped (killed by signal 15 (TERM))", stopped.message());
    assertEquals("already stopped", runner.stop(Context.root()).get(5, TimeUnit.SECONDS).message());
  }

  @Test
  void restartEndsWithANewProcessAndSaysSo() throws Exception {
    AgentSnapshot first = runner("always", Duration.ofSeconds(5)).start(Context.root()).get(5, TimeUnit.SECONDS);
    AgentSnapshot second = runner.restart(Context.root()).get(5, TimeUnit.SECONDS);
    assertEquals("RUNNING", second.lifecycle());
    assertEquals("restarted (pid " + first.pid() + " -> " + second.pid() + ")", second.message());
    assertEquals(0, second.restartCount(), "operator restarts are not crash restarts");
  }

  @Test
  void aLaunchFailureIsFailedThenRetried() throws Exception {
    launcher.failuresToSimulate = 1;
    AgentSnapshot failed = runner("always", Duration.ofSeconds(5)).start(Context.root()).get(5, TimeUnit.SECONDS);
    assertEquals("FAILED", failed.lifecycle());
    assertTrue(failed.message().startsWith("could not start: Cannot run program"), failed.message());
    AgentSnapshot running = awaitLifecycle("RUNNING");
    assertEquals(1, running.restartCount());
  }

  @Test
  void repeatedCrashesBecomeACrashLoopThatKeepsBeingRetried() throws Exception {
    runner("always", Duration.ofSeconds(1)).start(Context.root()).get(5, TimeUnit.SECONDS);
    for (int i = 1; i <= 3; i++) {
      launcher.last().exitWith(2);
      String expected = i < 3 ? "RESTARTING" : "CRASH_LOOP";
      AgentSnapshot waiting = awaitLifecycle(expected);
      assertEquals(OptionalInt.of(2), waiting.lastExitCode());
      awaitLifecycle("RUNNING");
    }
    assertTrue(launcher.all().size() >= 4, "still retried after the crash loop began");
  }

  @Test
  void aStartCountsOnlyAfterStartSeconds() throws Exception {
    AgentSpec spec = new AgentSpec("a1", "test", "/bin/true", List.of(), Path.of("."), Map.of(),
        new RestartPolicy("always", Duration.ofMillis(20), 2, Duration.ofMillis(50), Duration.ofMinutes(10), 3),
        io.opsscaffold.daemon.health.HealthPolicy.defaults(), Duration.ofSeconds(1), true, Duration.ofMillis(300), "INT", io.opsscaffold.daemon.logs.LogPolicy.defaults(), java.util.Optional.empty());
    runner = new AgentRunner(spec, launcher, (s, c) -> published.add(s), Clock.systemUTC(),
        TracerProvider.noop().get("test"));
    long begun = System.nanoTime();
    AgentSnapshot started = runner.start(Context.root()).get(5, TimeUnit.SECONDS);
    assertEquals("RUNNING", started.lifecycle());
    assertTrue(System.nanoTime() - begun >= Duration.ofMillis(300).toNanos(), "RUNNING only after start-seconds");
    assertEquals("STARTING", published.take().lifecycle());
    runner.stop(Context.root()).get(5, TimeUnit.SECONDS);
    assertEquals("INT", launcher.last().signals.get(0), "the configured stop signal");

    AgentSnapshot again = runner.start(Context.root()).thenApply(s -> s).toCompletableFuture()
        .completeOnTimeout(null, 50, TimeUnit.MILLISECONDS).get();
    assertEquals(null, again, "start() waits for start-seconds");
    launcher.last().exitWith(1); // dies while starting
    AgentSnapshot failed = awaitLifecycle("RESTARTING");
    assertTrue(failed.message().startsWith("exited with code 1 within start-seconds"), failed.message());
  }

  @Test
  void heartbeatsThatOnlyMoveTheTimeGoUpOncePerRefresh() throws Exception {
    AgentSpec spec = new AgentSpec("a1", "test", "/bin/true", List.of(), Path.of("."), Map.of(),
        new RestartPolicy("always", Duration.ofMillis(20), 2, Duration.ofMillis(50), Duration.ofMinutes(10), 3),
        new io.opsscaffold.daemon.health.HealthPolicy(java.util.Optional.of(Duration.ofSeconds(8)), java.util.Optional.empty(),
            0, 0, Duration.ofSeconds(60), Duration.ZERO, true),
        Duration.ofSeconds(1), true, Duration.ZERO, "TERM", io.opsscaffold.daemon.logs.LogPolicy.defaults(), java.util.Optional.empty());
    runner = new AgentRunner(spec, launcher, (s, c) -> published.add(s), Clock.systemUTC(), TracerProvider.noop().get("test"));
    runner.start(Context.root()).get(5, TimeUnit.SECONDS);
    awaitLifecycle("RUNNING");
    Duration refresh = runner.heartbeatRefresh();
    assertEquals(Duration.ofSeconds(2), refresh, "a quarter of the 8 s heartbeat timeout");
    java.time.Instant t0 = java.time.Instant.now();
    for (int i = 0; i < 50; i++) {
      runner.heartbeat(t0.plusMillis(i), java.util.OptionalLong.empty(), Context.root());
    }
    assertEquals(java.util.Optional.of(t0.plusMillis(49)), runner.snapshot().lastHeartbeat(), "the daemon keeps the latest");
    AgentSnapshot first = published.poll(1, TimeUnit.SECONDS);
    assertEquals(java.util.Optional.of(t0), first.lastHeartbeat(), "the first heartbeat goes up at once");
    assertEquals(null, published.poll(200, TimeUnit.MILLISECONDS), "the next 49 only moved the time");

    runner.heartbeat(t0.plus(refresh), java.util.OptionalLong.empty(), Context.root());
    AgentSnapshot refreshed = published.poll(1, TimeUnit.SECONDS);
    assertEquals(java.util.Optional.of(t0.plus(refresh)), refreshed.lastHeartbeat(), "a refresh once it is due");
  }
}
