package io.opsscaffold.daemon.heartbeat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast path must agree with Instant.parse on everything: the same instant or the same refusal.
 */
class IsoInstantTest {
  @Test
  void agreesWithInstantParseOnRandomInstantsInEveryFractionLength() {
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 20_000; i++) {
      // years 0000 to 9999, any nanosecond
      Instant instant =
          Instant.ofEpochSecond(
              random.nextLong(-62_167_219_200L, 253_402_300_800L), random.nextInt(1_000_000_000));
      String text = instant.toString(); // 0, 3, 6 or 9 fraction digits
      assertEquals(instant, IsoInstant.parse(text), text);
      String seconds = text.substring(0, 19);
      String nine = String.format("%09d", instant.getNano());
      for (int digits = 1; digits <= 9; digits++) {
        String other = seconds + "." + nine.substring(0, digits) + "Z";
        assertEquals(Instant.parse(other), IsoInstant.parse(other), other);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2026-01-02T03:04:05Z",
        "2024-02-29T23:59:59.999999999Z",
        "1970-01-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.1Z",
        "2026-01-02T03:04:05+02:00",
        "2026-01-02T03:04:05.5-01:30",
        "+12026-01-02T03:04:05Z",
        "2016-12-31T23:59:60Z",
        "2026-01-02t03:04:05z",
        "2026-01-02T24:00:00Z",
        "2026-01-02T03:04:05.Z"
      })
  void acceptsWhatInstantParseAccepts(String text) {
    assertEquals(Instant.parse(text), IsoInstant.parse(text));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "2026",
        "2026-01-02",
        "2026-01-02T03:04:05",
        "2026-02-30T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "2026-01-02T03:60:00Z",
        "2026-01-02T03:04:61Z",
        "2026-01-02T03:04:05.1234567890Z",
        "2026-01-02 03:04:05Z",
        "2026-01-02T03:04:05,5Z",
        "2026-1-02T03:04:05Z",
        "２０２６-01-02T03:04:05Z",
        "2026-01-02T03:04:0xZ",
        "-026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.12a4Z"
      })
  void refusesWhatInstantParseRefuses(String text) {
    assertThrows(
        DateTimeParseException.class, () -> Instant.parse(text), "Instant.parse accepts " + text);
    assertThrows(DateTimeParseException.class, () -> IsoInstant.parse(text));
  }
}
