package io.opsscaffold.observability;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.util.ArrayList;
import java.util.List;

/**
 * A Helidon HTTP filter that continues the caller's W3C trace (from {@code traceparent}) in a
 * server span around each request, and makes that span current while the request is handled.
 *
 * <p>Runs on the request's thread; never blocks beyond the handler it wraps.
 */
public final class HttpTracingFilter implements io.helidon.webserver.http.Filter {
  private static final TextMapGetter<Headers> GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
          List<String> names = new ArrayList<>();
          headers.forEach(h -> names.add(h.name()));
          return names;
        }

        @Override
        public String get(Headers headers, String key) {
          // The propagators ask for the same few keys on every request (traceparent, tracestate,
          // baggage): their header names are made once.
          HeaderName name = NAMES.computeIfAbsent(key, HeaderNames::create);
          return headers.contains(name) ? headers.get(name).values() : null;
        }
      };
  private static final java.util.concurrent.ConcurrentMap<String, HeaderName> NAMES =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final Telemetry telemetry;
  private final Tracer tracer;

  public HttpTracingFilter(Telemetry telemetry) {
    this.telemetry = telemetry;
    this.tracer = telemetry.tracer();
  }

  @Override
  public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
    Context parent =
        telemetry
            .openTelemetry()
            .getPropagators()
            .getTextMapPropagator()
            .extract(Context.root(), req.headers(), GETTER);
    String method = req.prologue().method().text();
    String path = req.path().path();
    Span span =
        tracer
            .spanBuilder(method + " " + path)
            .setParent(parent)
            .setSpanKind(SpanKind.SERVER)
            .setAttribute("http.request.method", method)
            .setAttribute("url.path", path)
            .startSpan();
    try (Scope ignored = span.makeCurrent()) {
      chain.proceed();
      int status = res.status().code();
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) {
        span.setStatus(StatusCode.ERROR);
      }
    } catch (RuntimeException e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR);
      throw e;
    } finally {
      span.end();
    }
  }
}
