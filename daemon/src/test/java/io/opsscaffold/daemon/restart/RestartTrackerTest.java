package io.opsscaffold.daemon.restart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The restart curve, with a hand-moved clock: no test here sleeps. */
class RestartTrackerTest {
  private final ManualClock clock = new ManualClock();

  private RestartTracker tracker(String mode, double jitter) {
    return new RestartTracker(
        new RestartPolicy(
            RestartPolicy.Mode.fromConfig(mode),
            Duration.ofSeconds(1),
            2.0,
            Duration.ofMinutes(5),
            Duration.ofMinutes(10),
            5),
        clock,
        () -> jitter);
  }

  @Test
  void quickFailuresDoubleTheDelayUpToTheCapAndBecomeACrashLoop() {
    RestartTracker t = tracker("always", 0.0);
    List<Long> delays = new ArrayList<>();
    List<Boolean> loops = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      t.started();
      clock.advance(Duration.ofMillis(200));
      RestartDecision d = t.exited(1);
      delays.add(d.restartAfter().orElseThrow().toMillis());
      loops.add(d.crashLoop());
      clock.advance(d.restartAfter().get());
    }
    assertEquals(
        List.of(
            1000L, 2000L, 4000L, 8000L, 16000L, 32000L, 64000L, 128000L, 256000L, 300000L, 300000L,
            300000L),
        delays);
    assertEquals(
        List.of(false, false, false, false, true, true, true, true, true, true, true, true),
        loops,
        "the fifth failure in a row is a crash loop, and it is still retried");
  }

  @Test
  void jitterShortensADelayByAtMostAFifth() {
    RestartTracker t = tracker("always", 1.0);
    t.started();
    assertEquals(800, t.exited(1).restartAfter().orElseThrow().toMillis());
  }

  @Test
  void aLongEnoughRunForgetsEarlierFailures() {
    RestartTracker t = tracker("always", 0.0);
    for (int i = 0; i < 4; i++) {
      t.started();
      t.exited(1);
    }
    assertEquals(4, t.failures());
    t.started();
    clock.advance(Duration.ofMinutes(10));
    RestartDecision d = t.exited(1);
    assertEquals(1, d.failures());
    assertEquals(Duration.ofSeconds(1), d.restartAfter().orElseThrow());
    assertFalse(d.crashLoop());
  }

  @Test
  void policiesDecideWhetherToRestartAtAll() {
    RestartTracker onFailure = tracker("on-failure", 0.0);
    onFailure.started();
    assertEquals(Optional.empty(), onFailure.exited(0).restartAfter());
    onFailure.started();
    assertTrue(onFailure.exited(2).restartAfter().isPresent());
    RestartTracker never = tracker("never", 0.0);
    never.started();
    assertEquals(Optional.empty(), never.exited(1).restartAfter());
    assertEquals(Optional.empty(), never.launchFailed().restartAfter());
  }

  @Test
  void launchFailuresAndUnhealthyRestartsUseTheSameCurveAndResetClearsIt() {
    RestartTracker t = tracker("always", 0.0);
    assertEquals(Duration.ofSeconds(1), t.launchFailed().restartAfter().orElseThrow());
    assertEquals(Duration.ofSeconds(2), t.launchFailed().restartAfter().orElseThrow());
    assertEquals(Duration.ofSeconds(4), t.unhealthy().restartAfter().orElseThrow());
    t.reset();
    assertEquals(Duration.ofSeconds(1), t.unhealthy().restartAfter().orElseThrow());
  }
}
