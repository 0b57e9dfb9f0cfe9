package io.opsscaffold.observability;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The OpenTelemetry bootstrap shared by the manager, the daemon and the agent.
 *
 * <p>Configuration comes from the {@link TelemetryPolicy} as defaults, overridden by the standard
 * {@code OTEL_*} environment variables and {@code otel.*} system properties (OpenTelemetry's own
 * autoconfiguration). Traces go over OTLP when an endpoint is configured anywhere, and nowhere
 * otherwise, so a first run without a collector logs no export errors. Metrics follow the same rule
 * (every 15 s unless {@code OTEL_METRIC_EXPORT_INTERVAL} says otherwise); logs stay in the JSON log
 * files.
 */
public final class Telemetry implements AutoCloseable {
  private static final String INSTRUMENTATION = "io.opsscaffold";

  private final OpenTelemetrySdk sdk;
  private final boolean exporting;

  private Telemetry(OpenTelemetrySdk sdk, boolean exporting) {
    this.sdk = sdk;
    this.exporting = exporting;
  }

  /** Starts telemetry for this process; reads the environment once. */
  public static Telemetry start(TelemetryPolicy policy) {
    return start(policy, System::getenv);
  }

  static Telemetry start(TelemetryPolicy policy, Function<String, String> env) {
    Map<String, String> defaults = new HashMap<>();
    defaults.put("otel.service.name", policy.serviceName());
    defaults.put("otel.logs.exporter", "none");
    defaults.put("otel.metric.export.interval", "15000");
    policy.otlpEndpoint().ifPresent(e -> defaults.put("otel.exporter.otlp.endpoint", e));
    boolean endpointKnown =
        policy.otlpEndpoint().isPresent()
            || env.apply("OTEL_EXPORTER_OTLP_ENDPOINT") != null
            || env.apply("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != null
            || System.getProperty("otel.exporter.otlp.endpoint") != null;
    String exporter = policy.tracesExporter().orElse(endpointKnown ? "otlp" : "none");
    defaults.put("otel.traces.exporter", exporter);
    defaults.put(
        "otel.metrics.exporter",
        endpointKnown || env.apply("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != null
            ? "otlp"
            : "none");
    OpenTelemetrySdk sdk =
        AutoConfiguredOpenTelemetrySdk.builder()
            .addPropertiesSupplier(() -> defaults)
            .disableShutdownHook()
            .build()
            .getOpenTelemetrySdk();
    String effective = env.apply("OTEL_TRACES_EXPORTER");
    boolean exporting = !"none".equals(effective != null ? effective : exporter);
    return new Telemetry(sdk, exporting);
  }

  public OpenTelemetry openTelemetry() {
    return sdk;
  }

  public Tracer tracer() {
    return sdk.getTracer(INSTRUMENTATION);
  }

  /** The meter of this process's own metrics (see observability/METRICS.md). */
  public io.opentelemetry.api.metrics.Meter meter() {
    return sdk.getMeter(INSTRUMENTATION);
  }

  /** Whether spans leave the process. */
  public boolean exporting() {
    return exporting;
  }

  /** Flushes pending spans (waits up to 5 s) and stops the exporters. Called once at exit. */
  @Override
  public void close() {
    sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
    sdk.getSdkMeterProvider().forceFlush().join(5, TimeUnit.SECONDS);
    sdk.shutdown().join(5, TimeUnit.SECONDS);
  }
}
