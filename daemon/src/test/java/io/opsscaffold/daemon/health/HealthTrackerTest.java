package io.opsscaffold.daemon.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.ManualClock;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Health verdicts with a hand-moved clock: no test here sleeps. */
class HealthTrackerTest {
  private final ManualClock clock = new ManualClock();

  private HealthTracker tracker(HealthPolicy policy) {
    HealthTracker t = new HealthTracker(policy, clock);
    t.started();
    return t;
  }

  private static HealthPolicy policy(
      Optional<Duration> timeout,
      Optional<HealthPolicy.Probe> probe,
      double cpu,
      long rss,
      Duration noData) {
    return new HealthPolicy(timeout, probe, cpu, rss, Duration.ofSeconds(60), noData, true);
  }

  @Test
  void theHeartbeatTimeoutIsLearnedAsThreeIntervalsAndEnforced() {
    HealthTracker t = tracker(HealthPolicy.defaults());
    assertEquals(Optional.empty(), t.heartbeatTimeout(), "unknown until heartbeats were seen");
    for (int i = 0; i < 3; i++) {
      t.heartbeat(OptionalLong.empty());
      clock.advance(Duration.ofSeconds(5));
    }
    assertEquals(Optional.of(Duration.ofSeconds(15)), t.heartbeatTimeout());
    assertEquals(Health.HEALTHY, t.evaluate().health());
    clock.advance(Duration.ofSeconds(11)); // 16 s since the last heartbeat
    HealthTracker.Verdict v = t.evaluate();
    assertEquals(Health.NO_HEARTBEAT, v.health());
    assertTrue(v.reason().startsWith("no heartbeat for 16000 ms (timeout 15000 ms)"), v.reason());
    t.heartbeat(OptionalLong.empty());
    assertEquals(Health.HEALTHY, t.evaluate().health());
  }

  @Test
  void aConfiguredTimeoutCountsFromTheStartAndZeroSwitchesItOff() {
    HealthTracker t =
        tracker(policy(Optional.of(Duration.ofSeconds(10)), Optional.empty(), 0, 0, Duration.ZERO));
    clock.advance(Duration.ofSeconds(11));
    assertEquals(Health.NO_HEARTBEAT, t.evaluate().health(), "never heartbeated since the start");
    HealthTracker off =
        tracker(policy(Optional.of(Duration.ZERO), Optional.empty(), 0, 0, Duration.ZERO));
    clock.advance(Duration.ofHours(1));
    assertEquals(Health.HEALTHY, off.evaluate().health());
  }

  @Test
  void resourcesMustStayOverTheLimitForTheSustainWindow() {
    HealthTracker t =
        tracker(
            policy(Optional.of(Duration.ZERO), Optional.empty(), 90, 100_000_000, Duration.ZERO));
    t.resources(95, 10);
    clock.advance(Duration.ofSeconds(59));
    t.resources(96, 10);
    assertEquals(Health.HEALTHY, t.evaluate().health(), "59 s over is not enough");
    t.resources(40, 10); // a dip resets the window
    clock.advance(Duration.ofSeconds(30));
    t.resources(99, 10);
    clock.advance(Duration.ofSeconds(60));
    t.resources(97, 10);
    HealthTracker.Verdict v = t.evaluate();
    assertEquals(Health.OVER_THRESHOLD, v.health());
    assertTrue(v.reason().startsWith("CPU 97.0 % above 90.0 % for 60 s"), v.reason());
    t.resources(10, 200_000_000);
    assertEquals(Health.HEALTHY, t.evaluate().health());
    clock.advance(Duration.ofSeconds(61));
    t.resources(10, 200_000_000);
    assertTrue(t.evaluate().reason().startsWith("memory 200000000 bytes above 100000000"));
  }

  @Test
  void aProbeFailsAfterTheThresholdAndRecoversOnOneSuccess() {
    HealthPolicy.Probe probe =
        new HealthPolicy.Probe(
            "http://x/health", Duration.ofSeconds(1), Duration.ofSeconds(1), 3, Duration.ZERO);
    HealthTracker t =
        tracker(policy(Optional.of(Duration.ZERO), Optional.of(probe), 0, 0, Duration.ZERO));
    t.probe(false, "503");
    t.probe(false, "503");
    assertEquals(Health.HEALTHY, t.evaluate().health());
    t.probe(false, "GET http://x/health timed out");
    HealthTracker.Verdict v = t.evaluate();
    assertEquals(Health.UNHEALTHY_PROBE, v.health());
    assertTrue(v.reason().endsWith("3 times in a row: GET http://x/health timed out"), v.reason());
    t.probe(true, "200");
    assertEquals(Health.HEALTHY, t.evaluate().health());
  }

  @Test
  void stalledProgressIsNoDataDebouncedBothWays() {
    HealthTracker t =
        tracker(policy(Optional.of(Duration.ZERO), Optional.empty(), 0, 0, Duration.ofSeconds(30)));
    long events = 100;
    for (int i = 0; i < 5; i++) {
      t.heartbeat(OptionalLong.of(events += 10));
      clock.advance(Duration.ofSeconds(5));
    }
    for (int i = 0; i < 5; i++) { // up to 30 s after the last move (t = 20 s .. 50 s)
      t.heartbeat(OptionalLong.of(events));
      clock.advance(Duration.ofSeconds(5));
      assertEquals(Health.HEALTHY, t.evaluate().health(), "within the window");
    }
    t.heartbeat(OptionalLong.of(events));
    clock.advance(Duration.ofSeconds(1));
    assertEquals(Health.NO_DATA, t.evaluate().health());
    t.heartbeat(OptionalLong.of(events += 1));
    assertEquals(Health.NO_DATA, t.evaluate().health(), "one move is not a recovery");
    clock.advance(Duration.ofSeconds(5));
    t.heartbeat(OptionalLong.of(events += 1));
    assertEquals(Health.HEALTHY, t.evaluate().health(), "two moves in a row are");
  }

  @Test
  void theMostSeriousFindingWins() {
    HealthPolicy.Probe probe =
        new HealthPolicy.Probe(
            "http://x", Duration.ofSeconds(1), Duration.ofSeconds(1), 1, Duration.ZERO);
    HealthTracker t =
        tracker(
            policy(Optional.of(Duration.ofSeconds(5)), Optional.of(probe), 1, 0, Duration.ZERO));
    t.probe(false, "down");
    assertEquals(Health.UNHEALTHY_PROBE, t.evaluate().health());
    clock.advance(Duration.ofSeconds(6));
    assertEquals(Health.NO_HEARTBEAT, t.evaluate().health());
  }

  @Test
  void aBurstOfQueuedHeartbeatsDoesNotShrinkTheLearnedTimeout() {
    HealthTracker t = tracker(HealthPolicy.defaults());
    for (int i = 0; i < 4; i++) {
      t.heartbeat(OptionalLong.empty());
      clock.advance(Duration.ofSeconds(5));
    }
    assertEquals(Optional.of(Duration.ofSeconds(15)), t.heartbeatTimeout());
    for (int i = 0; i < 20; i++) { // heartbeats queued during a pause arrive together
      t.heartbeat(OptionalLong.empty());
    }
    assertEquals(
        Optional.of(Duration.ofSeconds(15)), t.heartbeatTimeout(), "the burst taught nothing");
  }

  @Test
  void aLearnedTimeoutIsNeverUnderTheFloor() {
    HealthTracker t = tracker(HealthPolicy.defaults());
    for (int i = 0; i < 6; i++) {
      t.heartbeat(OptionalLong.empty());
      clock.advance(Duration.ofMillis(200));
    }
    assertEquals(Optional.of(HealthTracker.LEARNED_TIMEOUT_FLOOR), t.heartbeatTimeout());
  }

  @Test
  void afterAPauseSilenceIsCountedFromTheGrace() {
    HealthTracker t =
        tracker(policy(Optional.of(Duration.ofSeconds(10)), Optional.empty(), 0, 0, Duration.ZERO));
    t.heartbeat(OptionalLong.empty());
    clock.advance(Duration.ofSeconds(30)); // the daemon was stopped for 30 s
    t.grace();
    assertEquals(Health.HEALTHY, t.evaluate().health(), "judged from the grace, not from the gap");
    clock.advance(Duration.ofSeconds(10));
    assertEquals(Health.HEALTHY, t.evaluate().health());
    clock.advance(Duration.ofMillis(1));
    assertEquals(
        Health.NO_HEARTBEAT, t.evaluate().health(), "and still judged once the grace is over");
  }
}
