package io.opsscaffold.observability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Scope;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class JsonLogFormatterTest {
  private static final String TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final String SPAN = "b7ad6b7169203331";

  @Test
  void oneLineOfJsonWithTheCurrentSpan() {
    LogRecord record = new LogRecord(Level.WARNING, "agent \"a1\" exited\nwith code 3");
    record.setLoggerName("io.opsscaffold.Test");
    String line;
    Span span =
        Span.wrap(
            SpanContext.create(TRACE, SPAN, TraceFlags.getSampled(), TraceState.getDefault()));
    try (Scope ignored = span.makeCurrent()) {
      line = new JsonLogFormatter("daemon").format(record);
    }
    assertTrue(line.endsWith("}\n"));
    assertEquals(1, line.split("\n").length, "one line per record");
    assertTrue(line.contains("\"level\":\"WARN\""), line);
    assertTrue(line.contains("\"service\":\"daemon\""), line);
    assertTrue(line.contains("\"message\":\"agent \\\"a1\\\" exited\\nwith code 3\""), line);
    assertTrue(line.contains("\"trace_id\":\"" + TRACE + "\""), line);
    assertTrue(line.contains("\"span_id\":\"" + SPAN + "\""), line);
  }

  @Test
  void addedFieldsAppearOnEveryLine() {
    JsonLogFormatter f = new JsonLogFormatter("agent");
    f.addField("agent_id", "a1");
    assertTrue(
        f.format(new LogRecord(Level.INFO, "x"))
            .contains("\"service\":\"agent\",\"agent_id\":\"a1\""));
  }

  @Test
  void noTraceFieldsWithoutASpan() {
    String line = new JsonLogFormatter("manager").format(new LogRecord(Level.INFO, "ready"));
    assertFalse(line.contains("trace_id"), line);
    assertTrue(line.contains("\"level\":\"INFO\""), line);
  }
}
