package io.opsscaffold.daemon.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PauseDetectorTest {
  @Test
  void onlyAGapLongerThanTheThresholdIsAPause() {
    PauseDetector d = new PauseDetector(Duration.ofSeconds(5));
    long s = 1_000_000_000L;
    assertEquals(Optional.empty(), d.observe(0), "the first tick has nothing to compare with");
    assertEquals(Optional.empty(), d.observe(s));
    assertEquals(Optional.empty(), d.observe(6 * s), "exactly the threshold is not a pause");
    assertEquals(Optional.of(Duration.ofSeconds(30)), d.observe(36 * s));
    assertEquals(Optional.empty(), d.observe(37 * s), "and ticking again on time is not");
  }
}
