package io.opsscaffold.observability;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Moves W3C trace context in and out of what carries it between processes: string maps (HTTP
 * headers, gRPC metadata) and the 25-byte binary form that link messages carry.
 *
 * <p>A long-lived stream sends its metadata once, so each message carries its own context; this is
 * the one place that encodes and decodes it. Thread-safe and stateless.
 */
public final class TraceContextCarrier {
  private static final TextMapPropagator PROPAGATOR = W3CTraceContextPropagator.getInstance();

  /**
   * Length of the link's binary trace context: trace id (16 bytes), span id (8), trace flags (1).
   */
  public static final int BINARY_LENGTH = 25;

  private TraceContextCarrier() {}

  /**
   * The given context's span in the link's binary form (trace id, span id, trace flags), or null
   * when it holds no valid span.
   */
  public static byte[] binary(Context context) {
    SpanContext sc = Span.fromContext(context).getSpanContext();
    if (!sc.isValid()) {
      return null;
    }
    byte[] b = new byte[BINARY_LENGTH];
    System.arraycopy(sc.getTraceIdBytes(), 0, b, 0, 16);
    System.arraycopy(sc.getSpanIdBytes(), 0, b, 16, 8);
    b[24] = sc.getTraceFlags().asByte();
    return b;
  }

  /** The remote span context a link binary trace context names; invalid when it is not one. */
  public static SpanContext spanContext(byte[] binary) {
    if (binary == null || binary.length != BINARY_LENGTH) {
      return SpanContext.getInvalid();
    }
    return SpanContext.createFromRemoteParent(
        TraceId.fromBytes(Arrays.copyOfRange(binary, 0, 16)),
        SpanId.fromBytes(Arrays.copyOfRange(binary, 16, 24)),
        TraceFlags.fromByte(binary[24]),
        TraceState.getDefault());
  }

  /**
   * A context whose parent span is the one a link binary trace context names, or the root context.
   */
  public static Context extract(byte[] binary) {
    SpanContext sc = spanContext(binary);
    return sc.isValid() ? Context.root().with(Span.wrap(sc)) : Context.root();
  }

  /** The current context as a map; empty when no valid span is current. */
  public static Map<String, String> current() {
    return of(Context.current());
  }

  /** The given context as a map; empty when it holds no valid span. */
  public static Map<String, String> of(Context context) {
    Map<String, String> carrier = new HashMap<>(2);
    if (Span.fromContext(context).getSpanContext().isValid()) {
      PROPAGATOR.inject(context, carrier, Map::put);
    }
    return carrier;
  }
}
