package io.opsscaffold.daemon.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.health.Health;
import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The runner's lifecycle on a {@link ManualTime}: every delay (start-seconds, stop timeout, restart
 * backoff) passes only when the test moves time, so each is asserted to the millisecond and nothing
 * waits on the wall clock. The jitter source is fixed at 0 (delays are their full step).
 */
class AgentRunnerTest {
  private static final RestartPolicy BACKOFF =
      new RestartPolicy(
          io.opsscaffold.daemon.restart.RestartPolicy.Mode.ALWAYS,
          Duration.ofSeconds(1),
          2,
          Duration.ofSeconds(4),
          Duration.ofMinutes(10),
          3);

  private final ManualTime time = new ManualTime();
  private final FakeProcessLauncher launcher = new FakeProcessLauncher();
  private final BlockingQueue<AgentSnapshot> published = new LinkedBlockingQueue<>();
  private AgentRunner runner;

  private AgentRunner runner(
      RestartPolicy restart,
      HealthPolicy health,
      Duration stopTimeout,
      Duration startSeconds,
      String stopSignal) {
    AgentSpec spec =
        new AgentSpec(
            "a1",
            "test",
            "/bin/true",
            List.of(),
            Path.of("."),
            Map.of(),
            restart,
            health,
            stopTimeout,
            true,
            startSeconds,
            stopSignal,
            LogPolicy.defaults(),
            Optional.empty());
    runner =
        new AgentRunner(
            spec,
            launcher,
            (s, c) -> published.add(s),
            time,
            () -> 0.0,
            TracerProvider.noop().get("test"),
            id -> List.of());
    return runner;
  }

  private AgentRunner runner(String policy, Duration stopTimeout) {
    return runner(
        new RestartPolicy(
            RestartPolicy.Mode.fromConfig(policy),
            BACKOFF.initialDelay(),
            BACKOFF.multiplier(),
            BACKOFF.maxDelay(),
            BACKOFF.resetAfter(),
            BACKOFF.crashLoopAfter()),
        HealthPolicy.defaults(),
        stopTimeout,
        Duration.ZERO,
        "TERM");
  }

  @AfterEach
  void close() {
    if (runner != null) {
      runner.close();
    }
  }

  /** Waits for the next published state with {@code lifecycle}, skipping others. */
  private AgentSnapshot awaitLifecycle(Lifecycle lifecycle) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      AgentSnapshot s = published.poll(50, TimeUnit.MILLISECONDS);
      if (s != null && s.lifecycle() == lifecycle) {
        return s;
      }
    }
    throw new AssertionError("no " + lifecycle + " state was published");
  }

  private static <T> T done(CompletableFuture<T> f) throws Exception {
    return f.get(5, TimeUnit.SECONDS);
  }

  @Test
  void startPublishesStartingThenRunningWithThePid() throws Exception {
    AgentSnapshot started = done(runner("always", Duration.ofSeconds(1)).start(Context.root()));
    assertEquals(Lifecycle.RUNNING, started.lifecycle());
    assertEquals(Health.HEALTHY, started.health());
    assertEquals(launcher.last().pid(), started.pid());
    assertEquals(Lifecycle.STARTING, published.take().lifecycle());
    assertEquals(Lifecycle.RUNNING, published.take().lifecycle());
    AgentSnapshot again = done(runner.start(Context.root()));
    assertEquals(1, launcher.all().size(), "starting a running agent launches nothing");
    assertTrue(again.message().startsWith("already running"));
  }

  @Test
  void aCrashIsRestartedExactlyAfterTheDelayWithTheExitRecorded() throws Exception {
    done(runner("always", Duration.ofSeconds(1)).start(Context.root()));
    launcher.last().exitWith(3);
    AgentSnapshot restarting = awaitLifecycle(Lifecycle.RESTARTING);
    assertEquals(Health.DEAD, restarting.health());
    assertEquals(0, restarting.pid());
    assertEquals(OptionalInt.of(3), restarting.lastExitCode());
    assertEquals("exited with code 3; restart 1 in 1000 ms", restarting.message());
    assertFalse(restarting.stopRequested(), "a crash is not a stop anybody asked for");

    time.awaitTimers(1);
    time.advance(Duration.ofMillis(999));
    assertEquals(1, launcher.all().size(), "no restart before the delay");
    time.advance(Duration.ofMillis(1));
    AgentSnapshot running = awaitLifecycle(Lifecycle.RUNNING);
    assertEquals(1, running.restartCount());
    assertEquals(2, launcher.all().size());
    assertNotEquals(launcher.all().get(0).pid(), running.pid());
  }

  @Test
  void onFailureLeavesACleanExitStoppedAndNeverLeavesAnyExitStopped() throws Exception {
    done(runner("on-failure", Duration.ofSeconds(1)).start(Context.root()));
    launcher.last().exitWith(0);
    AgentSnapshot stopped = awaitLifecycle(Lifecycle.STOPPED);
    assertEquals("exited with code 0", stopped.message());
    assertEquals(0, time.pendingTimers(), "no restart is scheduled");
    runner.close();
    published.clear();

    done(runner("never", Duration.ofSeconds(1)).start(Context.root()));
    launcher.last().exitWith(1);
    assertEquals(OptionalInt.of(1), awaitLifecycle(Lifecycle.STOPPED).lastExitCode());
    time.advance(Duration.ofHours(1));
    assertEquals(2, launcher.all().size(), "no restart under 'never'");
  }

  @Test
  void stopEscalatesToKillOfTheGroupExactlyAtTheTimeout() throws Exception {
    launcher.ignoreTerm = true;
    done(runner("always", Duration.ofSeconds(10)).start(Context.root()));
    CompletableFuture<AgentSnapshot> stop = runner.stop(Context.root());
    time.awaitTimers(1);
    assertEquals(List.of("TERM"), launcher.last().signals);
    time.advance(Duration.ofMillis(9_999));
    assertEquals(List.of("TERM"), launcher.last().signals, "no SIGKILL before the stop timeout");
    assertFalse(stop.isDone());
    time.advance(Duration.ofMillis(1));
    AgentSnapshot stopped = done(stop);
    assertEquals(Lifecycle.STOPPED, stopped.lifecycle());
    assertEquals(
        List.of("TERM", "KILL", "KILL"),
        launcher.last().signals,
        "TERM, KILL after the timeout, and the sweep of the group once the leader is gone");
    assertEquals(OptionalInt.of(137), stopped.lastExitCode());
    time.advance(Duration.ofHours(1));
    assertEquals(1, launcher.all().size(), "a stopped agent is not restarted");
  }

  @Test
  void stopThatIsHonouredSendsOnlyTermAndLeavesNoTimerBehind() throws Exception {
    done(runner("always", Duration.ofSeconds(5)).start(Context.root()));
    AgentSnapshot stopped = done(runner.stop(Context.root()));
    assertEquals(
        List.of("TERM", "KILL"),
        launcher.last().signals,
        "the stop signal, then the sweep of the group");
    assertEquals("stopped (killed by signal 15 (TERM))", stopped.message());
    assertTrue(stopped.stopRequested(), "stopped on purpose: the manager raises no alert for it");
    assertEquals(0, time.pendingTimers(), "the SIGKILL timer is cancelled once the agent is gone");
    assertEquals("already stopped", done(runner.stop(Context.root())).message());
  }

  @Test
  void restartEndsWithANewProcessAndSaysSo() throws Exception {
    AgentSnapshot first = done(runner("always", Duration.ofSeconds(5)).start(Context.root()));
    AgentSnapshot second = done(runner.restart(Context.root()));
    assertEquals(Lifecycle.RUNNING, second.lifecycle());
    assertEquals("restarted (pid " + first.pid() + " -> " + second.pid() + ")", second.message());
    assertEquals(0, second.restartCount(), "operator restarts are not crash restarts");
  }

  @Test
  void restartNeverBlocksItsCallerEvenWhileTheRunnerThreadIsBusy() throws Exception {
    done(runner("always", Duration.ofSeconds(30)).start(Context.root()));
    launcher.termHangs = new java.util.concurrent.CountDownLatch(1);
    try {
      done(runner.stop(Context.root()).thenCompose(s -> runner.start(Context.root())));
      FakeProcessLauncher.FakeProcess hanging = launcher.last();
      CompletableFuture<AgentSnapshot> stuck =
          runner.stop(Context.root()); // the runner thread now hangs in TERM
      Await.until(
          Duration.ofSeconds(5),
          "the runner thread to hang in the stop signal",
          () -> hanging.signals,
          l -> l.contains("TERM"));
      // restart() on a gRPC callback thread must return at once, not wait for the runner thread.
      CompletableFuture<CompletableFuture<AgentSnapshot>> call = new CompletableFuture<>();
      Thread.ofVirtual().start(() -> call.complete(runner.restart(Context.root())));
      CompletableFuture<AgentSnapshot> restart =
          Await.until(
              Duration.ofSeconds(2),
              "restart() to return while the runner thread is busy",
              () -> call.getNow(null),
              f -> f != null);
      assertFalse(restart.isDone());
      launcher.termHangs.countDown();
      hanging.exitWith(143);
      assertEquals(Lifecycle.STOPPED, done(stuck).lifecycle());
      assertEquals(Lifecycle.RUNNING, done(restart).lifecycle());
    } finally {
      launcher.termHangs.countDown();
    }
  }

  @Test
  void aLaunchFailureIsFailedThenRetriedAfterTheDelay() throws Exception {
    launcher.failuresToSimulate = 1;
    AgentSnapshot failed = done(runner("always", Duration.ofSeconds(5)).start(Context.root()));
    assertEquals(Lifecycle.FAILED, failed.lifecycle());
    assertTrue(
        failed.message().startsWith("could not start: Cannot run program"), failed.message());
    assertEquals(Duration.ofSeconds(1), time.advanceToNextTimer());
    AgentSnapshot running = awaitLifecycle(Lifecycle.RUNNING);
    assertEquals(1, running.restartCount());
  }

  @Test
  void repeatedCrashesBackOffExponentiallyIntoACrashLoopThatKeepsBeingRetried() throws Exception {
    done(runner("always", Duration.ofSeconds(1)).start(Context.root()));
    List<Duration> expected =
        List.of(
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(4),
            Duration.ofSeconds(4));
    for (int i = 1; i <= expected.size(); i++) {
      launcher.last().exitWith(2);
      AgentSnapshot waiting = awaitLifecycle(i < 3 ? Lifecycle.RESTARTING : Lifecycle.CRASH_LOOP);
      assertEquals(OptionalInt.of(2), waiting.lastExitCode());
      assertEquals(expected.get(i - 1), time.advanceToNextTimer(), "delay before restart " + i);
      awaitLifecycle(Lifecycle.RUNNING);
    }
    assertEquals(5, launcher.all().size(), "still retried after the crash loop began");
  }

  @Test
  void aStartCountsOnlyAfterStartSeconds() throws Exception {
    runner(BACKOFF, HealthPolicy.defaults(), Duration.ofSeconds(1), Duration.ofMillis(300), "INT");
    CompletableFuture<AgentSnapshot> start = runner.start(Context.root());
    assertEquals(Lifecycle.STARTING, awaitLifecycle(Lifecycle.STARTING).lifecycle());
    time.awaitTimers(1);
    time.advance(Duration.ofMillis(299));
    assertFalse(start.isDone(), "start() waits for start-seconds");
    time.advance(Duration.ofMillis(1));
    assertEquals(Lifecycle.RUNNING, done(start).lifecycle());
    CompletableFuture<AgentSnapshot> stop = runner.stop(Context.root());
    assertEquals(
        Duration.ofSeconds(1),
        time.advanceToNextTimer(),
        "the fake ignores INT: SIGKILL after the timeout");
    done(stop);
    assertEquals("INT", launcher.last().signals.get(0), "the configured stop signal");

    CompletableFuture<AgentSnapshot> again = runner.start(Context.root());
    time.awaitTimers(1);
    launcher.last().exitWith(1); // dies while starting
    AgentSnapshot failed = awaitLifecycle(Lifecycle.RESTARTING);
    assertTrue(
        failed.message().startsWith("exited with code 1 within start-seconds"), failed.message());
    assertEquals(
        Lifecycle.RESTARTING, done(again).lifecycle(), "the start attempt reports its failure");
  }

  @Test
  void heartbeatsThatOnlyMoveTheTimeGoUpOncePerRefresh() throws Exception {
    runner(
        BACKOFF,
        new HealthPolicy(
            Optional.of(Duration.ofSeconds(8)),
            Optional.empty(),
            0,
            0,
            Duration.ofSeconds(60),
            Duration.ZERO,
            true),
        Duration.ofSeconds(1),
        Duration.ZERO,
        "TERM");
    done(runner.start(Context.root()));
    awaitLifecycle(Lifecycle.RUNNING);
    Duration refresh = runner.heartbeatRefresh();
    assertEquals(Duration.ofSeconds(2), refresh, "a quarter of the 8 s heartbeat timeout");
    Instant t0 = time.now();
    for (int i = 0; i < 50; i++) {
      runner.heartbeat(t0.plusMillis(i), OptionalLong.empty(), Context.root());
    }
    assertEquals(
        Optional.of(t0.plusMillis(49)),
        runner.snapshot().lastHeartbeat(),
        "the daemon keeps the latest");
    AgentSnapshot first = published.poll(1, TimeUnit.SECONDS);
    assertEquals(Optional.of(t0), first.lastHeartbeat(), "the first heartbeat goes up at once");
    // snapshot() above ran on the runner thread after all 50 heartbeats: nothing more was published
    assertNull(published.poll(), "the next 49 only moved the time");

    runner.heartbeat(t0.plus(refresh), OptionalLong.empty(), Context.root());
    AgentSnapshot refreshed = published.poll(5, TimeUnit.SECONDS);
    assertEquals(
        Optional.of(t0.plus(refresh)), refreshed.lastHeartbeat(), "a refresh once it is due");
  }

  @Test
  void afterTheDaemonWasPausedAHealthyAgentIsNotRestartedForTheGap() throws Exception {
    HealthPolicy fiveSeconds =
        new HealthPolicy(
            Optional.of(Duration.ofSeconds(5)),
            Optional.empty(),
            0,
            0,
            Duration.ofSeconds(60),
            Duration.ZERO,
            true);
    runner(BACKOFF, fiveSeconds, Duration.ofSeconds(1), Duration.ZERO, "TERM");
    done(runner.start(Context.root()));
    runner.heartbeat(time.now(), OptionalLong.empty(), Context.root());
    time.advance(
        Duration.ofSeconds(
            30)); // the daemon was stopped; the agent kept heartbeating into the void
    runner.resumed(Duration.ofSeconds(30));
    runner.checkHealth();
    AgentSnapshot s = runner.snapshot(); // after the check, on the runner thread
    assertEquals(Health.HEALTHY, s.health());
    assertEquals(List.of(), launcher.last().signals, "not stopped");

    // The same gap without the grace: the agent would be restarted for NO_HEARTBEAT.
    time.advance(Duration.ofSeconds(6));
    runner.checkHealth();
    assertEquals(Health.NO_HEARTBEAT, awaitLifecycle(Lifecycle.STOPPING).health());
    Await.until(
        Duration.ofSeconds(5),
        "the stop signal",
        () -> launcher.last().signals,
        l -> l.contains("TERM"));
  }

  @Test
  void aSecondRestartWhileOneIsInProgressJoinsItInsteadOfClaimingItsOwn() throws Exception {
    launcher.ignoreTerm = true;
    AgentSnapshot first = done(runner("always", Duration.ofSeconds(10)).start(Context.root()));
    CompletableFuture<AgentSnapshot> one = runner.restart(Context.root());
    time.awaitTimers(1); // the first restart's stop waits for SIGKILL
    CompletableFuture<AgentSnapshot> two = runner.restart(Context.root());
    time.advance(Duration.ofSeconds(10));
    AgentSnapshot a = done(one);
    AgentSnapshot b = done(two);
    assertEquals("restarted (pid " + first.pid() + " -> " + a.pid() + ")", a.message());
    assertEquals("joined the restart already in progress: " + a.message(), b.message());
    assertEquals(2, launcher.all().size(), "one restart happened, not two");
  }
}
