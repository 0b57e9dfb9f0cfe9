package io.opsscaffold.systemtests;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** An OTLP/HTTP (protobuf) trace receiver in the test process: what the apps export lands here. */
final class OtlpTraceReceiver implements AutoCloseable {
  /** One received span. */
  record ReceivedSpan(String service, String traceId, String spanId, String parentSpanId, String name) {}

  private final HttpServer server;
  private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();

  OtlpTraceReceiver() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.createContext("/v1/traces", exchange -> {
      try (InputStream in = exchange.getRequestBody()) {
        ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(in.readAllBytes());
        for (ResourceSpans rs : request.getResourceSpansList()) {
          String service = rs.getResource().getAttributesList().stream()
              .filter(kv -> kv.getKey().equals("service.name"))
              .map(KeyValue::getValue).map(v -> v.getStringValue()).findFirst().orElse("?");
          for (ScopeSpans ss : rs.getScopeSpansList()) {
            for (Span s : ss.getSpansList()) {
              spans.add(new ReceivedSpan(service, hex(s.getTraceId().toByteArray()),
                  hex(s.getSpanId().toByteArray()), hex(s.getParentSpanId().toByteArray()), s.getName()));
            }
          }
        }
      }
      byte[] ok = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, ok.length == 0 ? -1 : ok.length);
      exchange.close();
    });
    server.start();
  }

  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  List<ReceivedSpan> spans() {
    return List.copyOf(spans);
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
