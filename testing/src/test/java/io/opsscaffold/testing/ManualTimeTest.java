package io.opsscaffold.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.time.Scheduled;
import io.opsscaffold.time.Scheduler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class ManualTimeTest {
  private final ManualTime time = new ManualTime();

  @Test
  void timersRunInDeadlineOrderEachAtItsOwnTime() {
    List<String> ran = new CopyOnWriteArrayList<>();
    time.schedule(Duration.ofSeconds(3), () -> ran.add("c@" + time.millis() % 100_000));
    time.schedule(Duration.ofSeconds(1), () -> ran.add("a@" + time.millis() % 100_000));
    time.schedule(Duration.ofSeconds(2), () -> ran.add("b@" + time.millis() % 100_000));
    time.advance(Duration.ofMillis(1999));
    assertEquals(List.of("a@1000"), ran);
    time.advance(Duration.ofSeconds(5));
    assertEquals(List.of("a@1000", "b@2000", "c@3000"), ran);
    assertEquals(6999, time.millis() % 100_000, "time ends where it was advanced to");
  }

  @Test
  void aCancelledTimerNeverRunsAndARunOneCannotBeCancelled() {
    AtomicBoolean ran = new AtomicBoolean();
    Scheduled s = time.schedule(Duration.ofSeconds(1), () -> ran.set(true));
    assertEquals(1, time.pendingTimers());
    assertTrue(s.cancel());
    assertEquals(0, time.pendingTimers());
    time.advance(Duration.ofSeconds(2));
    assertFalse(ran.get());
    Scheduled t = time.schedule(Duration.ZERO, () -> ran.set(true));
    time.advance(Duration.ZERO);
    assertTrue(ran.get());
    assertFalse(t.cancel());
    assertNull(time.nextTimerIn());
  }

  @Test
  void sleepReturnsOnlyOnceTimeHasMoved() throws Exception {
    AtomicBoolean woke = new AtomicBoolean();
    Thread sleeper =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    time.sleep(Duration.ofMinutes(5));
                    woke.set(true);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
    time.awaitTimers(1);
    time.advance(Duration.ofMinutes(4));
    assertFalse(woke.get());
    time.advance(Duration.ofMinutes(1));
    sleeper.join(5_000);
    assertTrue(woke.get());
  }

  @Test
  void aSchedulersDelaysAndRepeatsFollowTheManualTime() {
    List<Long> runs = new CopyOnWriteArrayList<>();
    try (Scheduler s = time.scheduler("test")) {
      s.scheduleWithFixedDelay(
          Duration.ofSeconds(1), Duration.ofSeconds(10), () -> runs.add(time.millis() % 100_000));
      time.advanceToNextTimer();
      Await.until(Duration.ofSeconds(5), "the first run", runs::size, n -> n == 1);
      // the next run is armed only after the first one ended, 10 s after it
      assertEquals(
          Duration.ofSeconds(10),
          Await.until(
              Duration.ofSeconds(5), "the next run armed", time::nextTimerIn, d -> d != null));
      time.advance(Duration.ofSeconds(10));
      Await.until(Duration.ofSeconds(5), "the second run", runs::size, n -> n == 2);
      assertEquals(List.of(1000L, 11000L), runs);
    }
  }
}
