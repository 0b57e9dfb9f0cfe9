package io.opsscaffold.observability;

import java.util.Optional;

/**
 * How a process exports telemetry.
 *
 * @param serviceName the OpenTelemetry {@code service.name} of the process
 * @param otlpEndpoint where to send OTLP, e.g. {@code http://127.0.0.1:4317}; empty means "only
 *     when the standard {@code OTEL_*} environment variables ask for it"
 * @param tracesExporter {@code otlp} or {@code none}; empty means "otlp when an endpoint is known"
 */
public record TelemetryPolicy(
    String serviceName, Optional<String> otlpEndpoint, Optional<String> tracesExporter) {

  /** A policy that exports nothing unless the environment asks for it. */
  public static TelemetryPolicy of(String serviceName) {
    return new TelemetryPolicy(serviceName, Optional.empty(), Optional.empty());
  }
}
