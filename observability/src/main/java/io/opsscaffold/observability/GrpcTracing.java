package io.opsscaffold.observability;

import io.grpc.BindableService;
import io.grpc.ClientInterceptor;
import io.grpc.ServerInterceptors;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;

/**
 * gRPC tracing: server spans for user-facing services and client spans for callers, with W3C
 * propagation in the call metadata.
 *
 * <p>Not for the long-lived link stream: its span would last for hours. Link messages carry their
 * own context ({@link TraceContextCarrier}).
 */
public final class GrpcTracing {
  private final GrpcTelemetry grpc;

  public GrpcTracing(Telemetry telemetry) {
    this.grpc = GrpcTelemetry.create(telemetry.openTelemetry());
  }

  /** The service with a server span around each call. */
  public BindableService traced(BindableService service) {
    return () -> ServerInterceptors.intercept(service, grpc.createServerInterceptor());
  }

  /** An interceptor for client channels. */
  public ClientInterceptor clientInterceptor() {
    return grpc.createClientInterceptor();
  }
}
