package io.opsscaffold.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
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
  void theCurrentSpanBecomesATraceparentHeader() {
    SpanContext sc =
        SpanContext.create(
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            TraceFlags.getSampled(),
            TraceState.getDefault());
    Map<String, String> carrier;
    try (Scope ignored = Span.wrap(sc).makeCurrent()) {
      carrier = TraceContextCarrier.current();
    }
    assertEquals(
        Map.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), carrier);
  }

  @Test
  void noSpanMeansNoHeaders() {
    assertTrue(TraceContextCarrier.of(Context.root()).isEmpty());
  }

  @Test
  void aSpanTravelsInTheLinksBinaryFormAndBack() {
    SpanContext sc =
        SpanContext.create(
            "0af7651916cd43dd8448eb211c80319c",
            "b7ad6b7169203331",
            TraceFlags.getSampled(),
            TraceState.getDefault());
    byte[] binary = TraceContextCarrier.binary(Context.root().with(Span.wrap(sc)));
    assertEquals(TraceContextCarrier.BINARY_LENGTH, binary.length);
    assertEquals(0x0a, binary[0]);
    assertEquals((byte) 0x31, binary[23]);
    assertEquals(1, binary[24]);
    SpanContext back = TraceContextCarrier.spanContext(binary);
    assertEquals(sc.getTraceId(), back.getTraceId());
    assertEquals(sc.getSpanId(), back.getSpanId());
    assertTrue(back.isRemote() && back.isSampled());
    assertEquals(back, Span.fromContext(TraceContextCarrier.extract(binary)).getSpanContext());
  }

  @Test
  void noSpanMeansNoBinaryAndAnythingMalformedMeansRoot() {
    assertNull(TraceContextCarrier.binary(Context.root()));
    assertFalse(TraceContextCarrier.spanContext(new byte[0]).isValid());
    assertFalse(TraceContextCarrier.spanContext(null).isValid());
    assertFalse(TraceContextCarrier.spanContext(new byte[24]).isValid());
    assertFalse(
        TraceContextCarrier.spanContext(new byte[TraceContextCarrier.BINARY_LENGTH]).isValid(),
        "all-zero ids");
    assertEquals(Context.root(), TraceContextCarrier.extract(new byte[3]));
    byte[] unsampled =
        TraceContextCarrier.binary(
            Context.root()
                .with(
                    Span.wrap(
                        SpanContext.create(
                            "0af7651916cd43dd8448eb211c80319c",
                            "b7ad6b7169203331",
                            TraceFlags.getDefault(),
                            TraceState.getDefault()))));
    SpanContext back = TraceContextCarrier.spanContext(unsampled);
    assertTrue(back.isValid() && !back.isSampled());
  }
}
