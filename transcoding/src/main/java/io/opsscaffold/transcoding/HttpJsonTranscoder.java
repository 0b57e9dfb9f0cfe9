package io.opsscaffold.transcoding;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.Descriptors;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.grpc.BindableService;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoServiceDescriptorSupplier;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.observability.JsonText;
import io.opsscaffold.observability.TraceContextCarrier;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * Serves gRPC services over HTTP/JSON from their {@code google.api.http} annotations.
 *
 * <p>At construction it reads every method's HTTP rule from the service descriptors and builds a
 * route table (path templates with variables, {@code body: "*"} or a named body field, the
 * remaining fields from query parameters). A request is converted with protobuf's JsonFormat and
 * handed to the service's own {@link ServerCallHandler}: the same implementation, with the same
 * interceptors, that serves gRPC. Unary answers are one JSON object; server-streaming answers are
 * NDJSON, one object per line. Errors are {@code {code, status, message, details}} with the HTTP
 * status {@link ErrorMapper} maps the gRPC code to.
 *
 * <p>Handlers run on Helidon's request threads (virtual threads) and block them until the service
 * closes the call.
 */
public final class HttpJsonTranscoder {
  /** What a 503 answer tells the client to wait before trying again. */
  static final String RETRY_AFTER_SECONDS = "2";

  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().alwaysPrintFieldsWithNoPresence().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser();

  private record Route(
      Method httpMethod,
      PathTemplate template,
      String body,
      String responseBody,
      Message prototype,
      ServerMethodDefinition<?, ?> definition) {

    String describe() {
      return httpMethod.text()
          + " "
          + template
          + " -> "
          + definition.getMethodDescriptor().getFullMethodName();
    }
  }

  private final List<Route> routes;
  private final long maxBodyBytes;
  private final String maxBodySetting;

  /** A request body over the limit: answered 413 naming the limit, the rest left unread. */
  private static final class BodyTooLarge extends RuntimeException {
    BodyTooLarge(String message) {
      super(message, null, false, false);
    }
  }

  private HttpJsonTranscoder(List<Route> routes, long maxBodyBytes, String maxBodySetting) {
    this.routes = routes;
    this.maxBodyBytes = maxBodyBytes;
    this.maxBodySetting = maxBodySetting;
  }

  /**
   * The same routes, refusing request bodies over {@code bytes} with 413 naming {@code setting}.
   * Helidon's own limit ({@code maxPayloadSize}) holds for HTTP/1.1 only; this one holds for HTTP/2
   * as well, on the declared length and on what is actually sent.
   */
  public HttpJsonTranscoder limitBodies(long bytes, String setting) {
    return new HttpJsonTranscoder(routes, bytes, setting);
  }

  /**
   * Builds the route table for {@code services}.
   *
   * @throws IllegalArgumentException when a rule is malformed (names the method)
   */
  public static HttpJsonTranscoder create(List<BindableService> services) {
    List<Route> routes = new ArrayList<>();
    for (BindableService service : services) {
      ServerServiceDefinition definition = service.bindService();
      Object schema = definition.getServiceDescriptor().getSchemaDescriptor();
      if (!(schema instanceof ProtoServiceDescriptorSupplier supplier)) {
        throw new IllegalArgumentException(
            definition.getServiceDescriptor().getName() + " has no proto descriptor");
      }
      for (Descriptors.MethodDescriptor method : supplier.getServiceDescriptor().getMethods()) {
        if (!method.getOptions().hasExtension(AnnotationsProto.http)) {
          continue;
        }
        ServerMethodDefinition<?, ?> md =
            definition.getMethod(
                MethodDescriptor.generateFullMethodName(
                    supplier.getServiceDescriptor().getFullName(), method.getName()));
        HttpRule rule = method.getOptions().getExtension(AnnotationsProto.http);
        addRule(routes, rule, method, md);
        for (HttpRule extra : rule.getAdditionalBindingsList()) {
          addRule(routes, extra, method, md);
        }
      }
    }
    routes.sort(
        Comparator.comparingInt((Route r) -> -r.template().literalCount())
            .thenComparingInt(r -> -r.template().length()));
    return new HttpJsonTranscoder(List.copyOf(routes), Integer.MAX_VALUE - 16L, "no limit set");
  }

  private static void addRule(
      List<Route> routes,
      HttpRule rule,
      Descriptors.MethodDescriptor method,
      ServerMethodDefinition<?, ?> definition) {
    String path;
    Method httpMethod;
    switch (rule.getPatternCase()) {
      case GET -> {
        path = rule.getGet();
        httpMethod = Method.GET;
      }
      case POST -> {
        path = rule.getPost();
        httpMethod = Method.POST;
      }
      case PUT -> {
        path = rule.getPut();
        httpMethod = Method.PUT;
      }
      case DELETE -> {
        path = rule.getDelete();
        httpMethod = Method.DELETE;
      }
      case PATCH -> {
        path = rule.getPatch();
        httpMethod = Method.PATCH;
      }
      case CUSTOM -> {
        path = rule.getCustom().getPath();
        httpMethod = Method.create(rule.getCustom().getKind().toUpperCase(Locale.ROOT));
      }
      default ->
          throw new IllegalArgumentException(method.getFullName() + " has an empty HTTP rule");
    }
    Message prototype = prototypeOf(definition.getMethodDescriptor().getRequestMarshaller());
    if (!rule.getBody().isEmpty()
        && !rule.getBody().equals("*")
        && method.getInputType().findFieldByName(rule.getBody()) == null) {
      throw new IllegalArgumentException(
          method.getFullName() + ": body field '" + rule.getBody() + "' does not exist");
    }
    routes.add(
        new Route(
            httpMethod,
            PathTemplate.parse(path),
            rule.getBody(),
            rule.getResponseBody(),
            prototype,
            definition));
  }

  private static Message prototypeOf(MethodDescriptor.Marshaller<?> marshaller) {
    if (marshaller instanceof MethodDescriptor.PrototypeMarshaller<?> p
        && p.getMessagePrototype() instanceof Message m) {
      return m;
    }
    throw new IllegalArgumentException("request marshaller is not a protobuf marshaller");
  }

  /** Adds one catch-all handler to {@code routing}; paths no rule matches go to the next route. */
  public void register(HttpRouting.Builder routing) {
    routing.any(this::handle);
  }

  /** "METHOD /template -> full/MethodName" for each route, for logs and start-up banners. */
  public List<String> describeRoutes() {
    return routes.stream().map(Route::describe).toList();
  }

  private void handle(ServerRequest req, ServerResponse res) {
    String path = req.path().rawPath();
    Method method = req.prologue().method();
    TreeSet<String> allowed = new TreeSet<>();
    for (Route route : routes) {
      Optional<Map<String, String>> vars = route.template().match(path);
      if (vars.isEmpty()) {
        continue;
      }
      if (!route.httpMethod().equals(method)) {
        allowed.add(route.httpMethod().text());
        continue;
      }
      serve(route, vars.get(), req, res);
      return;
    }
    if (!allowed.isEmpty()) {
      res.header(HeaderNames.ALLOW, String.join(", ", allowed));
      sendError(
          res,
          405,
          Status.Code.UNIMPLEMENTED,
          "method "
              + method.text()
              + " is not allowed on "
              + path
              + "; allowed: "
              + String.join(", ", allowed));
      return;
    }
    res.next();
  }

  private void serve(
      Route route, Map<String, String> pathVars, ServerRequest req, ServerResponse res) {
    Message request;
    try {
      request = buildRequest(route, pathVars, req);
    } catch (OpsException e) {
      Status status = ErrorMapper.toStatus(e);
      sendError(
          res, ErrorMapper.httpStatus(status.getCode()), status.getCode(), status.getDescription());
      return;
    } catch (BodyTooLarge e) {
      sendError(res, 413, Status.Code.RESOURCE_EXHAUSTED, e.getMessage());
      return;
    }
    if (route.definition().getMethodDescriptor().getType().serverSendsOneMessage()) {
      serveUnary(route, request, req, res);
    } else {
      serveStream(route, request, req, res);
    }
  }

  /** The largest part of a parser's message an answer repeats. */
  private static final int MAX_DETAIL = 200;

  /**
   * A parser's message fit for a client: without the Java class names the JSON libraries put in
   * front, and cut short (a path into a deeply nested body can be kilobytes long).
   */
  static String plain(String message) {
    String m =
        String.valueOf(message)
            .replaceAll("(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*(?:Exception|Error):\\s*", "");
    return m.length() <= MAX_DETAIL ? m : m.substring(0, MAX_DETAIL) + "…";
  }

  /**
   * The request body as text, refused past {@link #maxBodyBytes} whether declared or sent. A
   * refused body is read on and thrown away (a bounded buffer at a time), so an HTTP/2 client gets
   * its 413 rather than a reset stream; past 16 times the limit the connection is given up instead.
   */
  private String body(ServerRequest req) {
    String refusal =
        "the request body is larger than " + maxBodyBytes + " bytes (" + maxBodySetting + ")";
    try (java.io.InputStream in = req.content().inputStream()) {
      if (req.headers().contentLength().orElse(0) > maxBodyBytes) {
        drain(in);
        throw new BodyTooLarge(refusal);
      }
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8L, maxBodyBytes + 1L));
      if (bytes.length > maxBodyBytes) {
        drain(in);
        throw new BodyTooLarge(refusal);
      }
      return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw OpsException.invalidArgument("the request body could not be read");
    }
  }

  private void drain(java.io.InputStream in) throws java.io.IOException {
    long budget = maxBodyBytes > Long.MAX_VALUE / 16 ? Long.MAX_VALUE : maxBodyBytes * 16;
    byte[] sink = new byte[16 * 1024];
    long read = 0;
    for (int n; (n = in.read(sink)) >= 0; ) {
      read += n;
      if (read > budget) {
        throw new java.io.IOException("a refused body went on past " + budget + " bytes");
      }
    }
  }

  private Message buildRequest(Route route, Map<String, String> pathVars, ServerRequest req) {
    Message.Builder builder = route.prototype().newBuilderForType();
    if (!route.body().isEmpty() && req.content().hasEntity()) {
      String json = body(req);
      if (!json.isBlank()) {
        Message.Builder target =
            route.body().equals("*")
                ? builder
                : builder.getFieldBuilder(
                    builder.getDescriptorForType().findFieldByName(route.body()));
        try {
          PARSER.merge(json, target);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
          throw OpsException.invalidArgument("invalid JSON body: " + plain(e.getMessage()));
        }
      }
    }
    for (Map.Entry<String, String> var : pathVars.entrySet()) {
      FieldValues.set(builder, var.getKey(), var.getValue(), "path parameter");
    }
    for (String name : req.query().names()) {
      if (pathVars.containsKey(name)) {
        continue;
      }
      for (String value : req.query().all(name)) {
        FieldValues.set(builder, name, value, "query parameter");
      }
    }
    return builder.build();
  }

  private void serveUnary(Route route, Message request, ServerRequest req, ServerResponse res) {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    Message[] response = new Message[1];
    start(route, request, req, m -> response[0] = m, closed);
    Status status = closed.join();
    if (!status.isOk()) {
      sendError(
          res, ErrorMapper.httpStatus(status.getCode()), status.getCode(), status.getDescription());
      return;
    }
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(print(responseOf(route, response[0])));
  }

  private void serveStream(Route route, Message request, ServerRequest req, ServerResponse res) {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    OutputStream[] out = new OutputStream[1];
    LocalServerCall<?, ?> call =
        start(
            route,
            request,
            req,
            m -> {
              synchronized (out) {
                try {
                  if (out[0] == null) {
                    res.header(HeaderNames.CONTENT_TYPE, "application/x-ndjson");
                    out[0] = res.outputStream();
                  }
                  out[0].write(
                      (print(responseOf(route, m)) + "\n").getBytes(StandardCharsets.UTF_8));
                  out[0].flush();
                } catch (IOException | UncheckedIOException e) {
                  throw new UncheckedIOException(
                      "client went away", e instanceof IOException io ? io : new IOException(e));
                }
              }
            },
            closed);
    Status status;
    try {
      status = closed.join();
    } catch (RuntimeException e) {
      call.cancel();
      return;
    }
    synchronized (out) {
      try {
        if (out[0] == null) {
          if (!status.isOk()) {
            sendError(
                res,
                ErrorMapper.httpStatus(status.getCode()),
                status.getCode(),
                status.getDescription());
          } else {
            res.header(HeaderNames.CONTENT_TYPE, "application/x-ndjson");
            res.send("");
          }
          return;
        }
        if (!status.isOk()) {
          out[0].write(
              ("{\"error\":" + errorJson(status.getCode(), status.getDescription()) + "}\n")
                  .getBytes(StandardCharsets.UTF_8));
        }
        out[0].close();
      } catch (IOException e) {
        // The client went away at the end of the stream; nothing is left to tell it.
      }
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private LocalServerCall<?, ?> start(
      Route route,
      Message request,
      ServerRequest req,
      java.util.function.Consumer<Message> onMessage,
      CompletableFuture<Status> closed) {
    ServerMethodDefinition definition = route.definition();
    LocalServerCall call =
        new LocalServerCall(
            definition.getMethodDescriptor(),
            m -> onMessage.accept((Message) m),
            (status, trailers) -> closed.complete((Status) status));
    Metadata metadata = metadataOf(req);
    ServerCall.Listener listener;
    try {
      listener = ((ServerCallHandler) definition.getServerCallHandler()).startCall(call, metadata);
      listener.onReady();
      listener.onMessage(request);
      listener.onHalfClose();
    } catch (RuntimeException e) {
      closed.complete(ErrorMapper.toStatus(e));
      return call;
    }
    ServerCall.Listener started = listener;
    closed.whenComplete(
        (s, e) -> {
          if (e != null || call.isCancelled()) {
            started.onCancel();
          } else {
            started.onComplete();
          }
        });
    return call;
  }

  /**
   * Headers that are not passed on as metadata: the trace context (passed on from the current span
   * instead), and HTTP/1.1's connection-level headers, which gRPC refuses as metadata (it logged a
   * warning with a stack trace for each).
   */
  private static final java.util.Set<String> NOT_METADATA =
      java.util.Set.of(
          "traceparent",
          "tracestate",
          "content-length",
          "connection",
          "keep-alive",
          "proxy-connection",
          "transfer-encoding",
          "upgrade",
          "http2-settings",
          "te",
          "host");

  /**
   * Request headers become call metadata; the current span (the HTTP server span) is the parent.
   */
  private static Metadata metadataOf(ServerRequest req) {
    Metadata metadata = new Metadata();
    req.headers()
        .forEach(
            h -> {
              String name = h.name().toLowerCase(Locale.ROOT);
              if (name.startsWith(":")
                  || name.endsWith(Metadata.BINARY_HEADER_SUFFIX)
                  || NOT_METADATA.contains(name)) {
                return;
              }
              try {
                metadata.put(Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER), h.get());
              } catch (IllegalArgumentException e) {
                // A header that is not valid gRPC metadata is not passed on.
              }
            });
    TraceContextCarrier.current()
        .forEach((k, v) -> metadata.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
    return metadata;
  }

  private static Message responseOf(Route route, Message response) {
    if (route.responseBody().isEmpty()) {
      return response;
    }
    Descriptors.FieldDescriptor field =
        response.getDescriptorForType().findFieldByName(route.responseBody());
    return (Message) response.getField(field);
  }

  private static String print(Message message) {
    try {
      return PRINTER.print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + message.getDescriptorForType(), e);
    }
  }

  private static void sendError(
      ServerResponse res, int httpStatus, Status.Code code, String message) {
    res.status(io.helidon.http.Status.create(httpStatus));
    if (httpStatus == 503) {
      res.header(HeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS); // the database or a daemon is away
    }
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(errorJson(code, message));
  }

  static String errorJson(Status.Code code, String message) {
    StringBuilder json = new StringBuilder(128);
    json.append("{\"code\":").append(code.value()).append(",\"status\":");
    JsonText.appendQuoted(json, code.name()).append(",\"message\":");
    JsonText.appendQuoted(json, message == null ? code.name() : message);
    return json.append(",\"details\":[]}").toString();
  }
}
