package io.opsscaffold.daemon.link;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static Backoff with(double random) {
    return new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), () -> random);
  }

  @Test
  void doublesFromTheInitialDelayToTheCap() {
    Backoff full = with(1.0);
    assertEquals(500, full.delay(1).toMillis());
    assertEquals(1000, full.delay(2).toMillis());
    assertEquals(2000, full.delay(3).toMillis());
    assertEquals(16000, full.delay(6).toMillis());
    assertEquals(30000, full.delay(7).toMillis());
    assertEquals(30000, full.delay(1000).toMillis());
  }

  @Test
  void fullJitterSpreadsOverTheWholeStep() {
    assertEquals(1, with(0.0).delay(1).toMillis(), "never zero");
    assertEquals(250, with(0.5).delay(1).toMillis());
    assertEquals(7500, with(0.25).delay(50).toMillis());
    assertEquals(22500, with(0.75).delay(50).toMillis());
  }
}
