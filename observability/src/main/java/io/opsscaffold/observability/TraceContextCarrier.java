package io.opsscaffold.observability;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import java.util.HashMap;
import java.util.Map;

/**
 * Moves W3C trace context in and out of the string maps carried inside link messages.
 *
 * <p>A long-lived stream sends its metadata once, so each message carries its own context; this is
 * the one place that encodes and decodes it. Thread-safe and stateless.
 */
public final class TraceContextCarrier {
  private static final TextMapPropagator PROPAGATOR = W3CTraceContextPropagator.getInstance();

  private static final TextMapGetter<Map<String, String>> GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, String> carrier) {
          return carrier.keySet();
        }

        @Override
        public String get(Map<String, String> carrier, String key) {
          return carrier == null ? null : carrier.get(key);
        }
      };

  private TraceContextCarrier() {}

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

  /** A context whose parent span is the one encoded in the map, or the root context. */
  public static Context extract(Map<String, String> carrier) {
    if (carrier == null || carrier.isEmpty()) {
      return Context.root();
    }
    return PROPAGATOR.extract(Context.root(), carrier, GETTER);
  }

  /** The span context encoded in the map; invalid when there is none. */
  public static SpanContext spanContext(Map<String, String> carrier) {
    return Span.fromContext(extract(carrier)).getSpanContext();
  }
}
