package io.opsscaffold.observability;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TelemetryTest {

  @Test
  void exportsNothingUnlessAnEndpointIsConfigured() {
    try (Telemetry t = Telemetry.start(TelemetryPolicy.of("svc"), k -> null)) {
      assertFalse(t.exporting());
    }
    try (Telemetry t =
        Telemetry.start(
            new TelemetryPolicy("svc", Optional.of("http://127.0.0.1:4317"), Optional.empty()),
            k -> null)) {
      assertTrue(t.exporting());
    }
    Map<String, String> env = Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317");
    try (Telemetry t = Telemetry.start(TelemetryPolicy.of("svc"), env::get)) {
      assertTrue(t.exporting(), "the standard variable turns export on");
    }
    try (Telemetry t =
        Telemetry.start(
            new TelemetryPolicy("svc", Optional.of("http://127.0.0.1:4317"), Optional.of("none")),
            k -> null)) {
      assertFalse(t.exporting(), "exporter none turns it off");
    }
  }
}
