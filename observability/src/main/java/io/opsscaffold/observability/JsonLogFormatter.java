package io.opsscaffold.observability;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * Formats java.util.logging records as one JSON object per line, with {@code trace_id} and {@code
 * span_id} when a span is current on the logging thread.
 */
public final class JsonLogFormatter extends Formatter {
  private final String service;
  private volatile java.util.Map<String, String> fields = java.util.Map.of();

  public JsonLogFormatter(String service) {
    this.service = service;
  }

  /** Adds a field written on every line from now on (e.g. the agent's {@code agent_id}). */
  public synchronized void addField(String name, String value) {
    java.util.Map<String, String> next = new java.util.LinkedHashMap<>(fields);
    next.put(name, value);
    fields = java.util.Map.copyOf(next);
  }

  @Override
  public String format(LogRecord record) {
    StringBuilder json = new StringBuilder(256);
    json.append("{\"time\":\"").append(Instant.ofEpochMilli(record.getMillis())).append('"');
    field(json, "level", levelName(record.getLevel()));
    field(json, "service", service);
    fields.forEach((k, v) -> field(json, k, v));
    field(json, "logger", record.getLoggerName());
    field(json, "message", formatMessage(record));
    SpanContext span = Span.current().getSpanContext();
    if (span.isValid()) {
      field(json, "trace_id", span.getTraceId());
      field(json, "span_id", span.getSpanId());
    }
    if (record.getThrown() != null) {
      StringWriter trace = new StringWriter();
      record.getThrown().printStackTrace(new PrintWriter(trace));
      field(json, "exception", trace.toString());
    }
    return json.append("}\n").toString();
  }

  private static String levelName(Level level) {
    int v = level.intValue();
    if (v >= Level.SEVERE.intValue()) {
      return "ERROR";
    }
    if (v >= Level.WARNING.intValue()) {
      return "WARN";
    }
    if (v >= Level.INFO.intValue()) {
      return "INFO";
    }
    return v >= Level.FINE.intValue() ? "DEBUG" : "TRACE";
  }

  private static void field(StringBuilder json, String name, String value) {
    json.append(",\"").append(name).append("\":");
    JsonText.appendQuoted(json, value == null ? "" : value);
  }
}
