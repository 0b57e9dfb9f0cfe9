package io.opsscaffold.systemtests;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An OTLP/HTTP (protobuf) receiver in the test process: the traces and metrics the apps export land
 * here.
 */
final class OtlpReceiver implements AutoCloseable {
  /** One received span, with its attributes as text. */
  record ReceivedSpan(
      String service,
      String traceId,
      String spanId,
      String parentSpanId,
      String name,
      Map<String, String> attributes) {}

  private final HttpServer server;
  private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();
  private final Map<String, Set<String>> metricsByService = new ConcurrentHashMap<>();

  OtlpReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.createContext(
        "/v1/traces",
        exchange -> {
          try (InputStream in = exchange.getRequestBody()) {
            ExportTraceServiceRequest request =
                ExportTraceServiceRequest.parseFrom(in.readAllBytes());
            for (ResourceSpans rs : request.getResourceSpansList()) {
              String service = service(rs.getResource());
              for (ScopeSpans ss : rs.getScopeSpansList()) {
                for (Span s : ss.getSpansList()) {
                  spans.add(
                      new ReceivedSpan(
                          service,
                          hex(s.getTraceId().toByteArray()),
                          hex(s.getSpanId().toByteArray()),
                          hex(s.getParentSpanId().toByteArray()),
                          s.getName(),
                          text(s.getAttributesList())));
                }
              }
            }
          }
          answer(exchange, ExportTraceServiceResponse.getDefaultInstance().toByteArray());
        });
    server.createContext(
        "/v1/metrics",
        exchange -> {
          try (InputStream in = exchange.getRequestBody()) {
            ExportMetricsServiceRequest request =
                ExportMetricsServiceRequest.parseFrom(in.readAllBytes());
            for (ResourceMetrics rm : request.getResourceMetricsList()) {
              Set<String> names =
                  metricsByService.computeIfAbsent(
                      service(rm.getResource()), k -> ConcurrentHashMap.newKeySet());
              for (ScopeMetrics sm : rm.getScopeMetricsList()) {
                sm.getMetricsList().forEach(m -> names.add(m.getName()));
              }
            }
          }
          answer(exchange, ExportMetricsServiceResponse.getDefaultInstance().toByteArray());
        });
    server.start();
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<ReceivedSpan> spans() {
    return List.copyOf(spans);
  }

  /** The metric names received so far, per service.name. */
  Map<String, Set<String>> metricNames() {
    Map<String, Set<String>> copy = new HashMap<>();
    metricsByService.forEach((k, v) -> copy.put(k, Set.copyOf(v)));
    return copy;
  }

  private static void answer(HttpExchange exchange, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
    exchange.sendResponseHeaders(200, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      exchange.getResponseBody().write(body);
    }
    exchange.close();
  }

  private static String service(Resource resource) {
    return resource.getAttributesList().stream()
        .filter(kv -> kv.getKey().equals("service.name"))
        .map(KeyValue::getValue)
        .map(AnyValue::getStringValue)
        .findFirst()
        .orElse("?");
  }

  private static Map<String, String> text(List<KeyValue> attributes) {
    Map<String, String> out = new HashMap<>();
    for (KeyValue kv : attributes) {
      AnyValue v = kv.getValue();
      out.put(
          kv.getKey(),
          switch (v.getValueCase()) {
            case STRING_VALUE -> v.getStringValue();
            case INT_VALUE -> Long.toString(v.getIntValue());
            case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
            case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
            default -> v.toString();
          });
    }
    return out;
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
