package io.opsscaffold.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TraceContextCarrierTest {

  @Test
  void aSpanTravelsThroughAMapAndBack() {
    SpanContext sc = SpanContext.create("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331",
        TraceFlags.getSampled(), TraceState.getDefault());
    Map<String, String> carrier;
    try (Scope ignored = Span.wrap(sc).makeCurrent()) {
      carrier = TraceContextCarrier.current();
    }
    assertEquals("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", carrier.get("traceparent"));
    SpanContext back = TraceContextCarrier.spanContext(carrier);
    assertEquals(sc.getTraceId(), back.getTraceId());
    assertEquals(sc.getSpanId(), back.getSpanId());
    assertTrue(back.isRemote() && back.isSampled());
  }

  @Test
  void noSpanMeansAnEmptyMapAndEmptyMeansRoot() {
    assertTrue(TraceContextCarrier.of(Context.root()).isEmpty());
    assertFalse(TraceContextCarrier.spanContext(Map.of()).isValid());
    assertFalse(TraceContextCarrier.spanContext(Map.of("traceparent", "garbage")).isValid());
  }
}
