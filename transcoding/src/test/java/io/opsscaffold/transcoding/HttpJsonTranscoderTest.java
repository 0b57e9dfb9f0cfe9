package io.opsscaffold.transcoding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.StreamObserver;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetAgentRequest;
import io.opsscaffold.api.fleet.v1.ListNodesRequest;
import io.opsscaffold.api.fleet.v1.ListNodesResponse;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.fleet.v1.OperateAgentRequest;
import io.opsscaffold.api.fleet.v1.OperateAgentResponse;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The transcoder over real HTTP on loopback, in front of a small fleet service. */
class HttpJsonTranscoderTest {
  private static final AtomicReference<Object> lastRequest = new AtomicReference<>();
  private static final AtomicReference<io.grpc.Metadata> lastHeaders = new AtomicReference<>();
  private static WebServer server;
  private static final HttpClient client = HttpClient.newHttpClient();

  /** Echoes what it received, so the tests see how HTTP became a request message. */
  static final class EchoFleet extends FleetServiceGrpc.FleetServiceImplBase {
    @Override
    public void listNodes(ListNodesRequest req, StreamObserver<ListNodesResponse> out) {
      lastRequest.set(req);
      out.onNext(
          ListNodesResponse.newBuilder()
              .setPage(req.getPage())
              .setPageSize(req.getPageSize())
              .addNodes(Node.newBuilder().setNodeId("n1").setArea(req.getArea()))
              .setTotal(1)
              .build());
      out.onCompleted();
    }

    @Override
    public void getAgent(GetAgentRequest req, StreamObserver<Agent> out) {
      lastRequest.set(req);
      if (req.getAgentId().equals("missing")) {
        out.onError(
            ErrorMapper.toException(OpsException.notFound("agent 'missing' does not exist")));
        return;
      }
      if (req.getAgentId().equals("boom")) {
        throw new IllegalStateException("secret internal detail");
      }
      out.onNext(
          Agent.newBuilder()
              .setNodeId(req.getNodeId())
              .setAgentId(req.getAgentId())
              .setAvailability(0)
              .build());
      out.onCompleted();
    }

    @Override
    public void operateAgent(OperateAgentRequest req, StreamObserver<OperateAgentResponse> out) {
      lastRequest.set(req);
      out.onNext(
          OperateAgentResponse.newBuilder()
              .setSuccess(true)
              .setMessage(req.getOperation() + " " + req.getTimeout().getSeconds())
              .build());
      out.onCompleted();
    }
  }

  @BeforeAll
  static void start() {
    io.grpc.ServerInterceptor recordHeaders =
        new io.grpc.ServerInterceptor() {
          @Override
          public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(
              io.grpc.ServerCall<Q, R> call,
              io.grpc.Metadata headers,
              io.grpc.ServerCallHandler<Q, R> next) {
            lastHeaders.set(headers);
            return next.startCall(call, headers);
          }
        };
    HttpJsonTranscoder transcoder =
        HttpJsonTranscoder.create(
            List.of(() -> io.grpc.ServerInterceptors.intercept(new EchoFleet(), recordHeaders)));
    HttpRouting.Builder routing = HttpRouting.builder();
    transcoder.register(routing);
    server = WebServer.builder().port(0).host("127.0.0.1").addRouting(routing).build().start();
  }

  @AfterAll
  static void stop() {
    server.stop();
  }

  private static HttpResponse<String> call(String method, String path, String body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void requestHeadersBecomeMetadataButConnectionHeadersDoNot() throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.port())) {
      socket
          .getOutputStream()
          .write(
              ("GET /api/v1/nodes HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive, TE\r\n"
                      + "Keep-Alive: timeout=5\r\nTE: trailers\r\nX-Request-Id: r-17\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      String status =
          new java.io.BufferedReader(
                  new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
              .readLine();
      assertEquals("HTTP/1.1 200 OK", status);
    }
    io.grpc.Metadata headers = lastHeaders.get();
    assertEquals(
        "r-17",
        headers.get(
            io.grpc.Metadata.Key.of("x-request-id", io.grpc.Metadata.ASCII_STRING_MARSHALLER)));
    for (String hopByHop : List.of("connection", "keep-alive", "te", "host")) {
      assertTrue(
          !headers.containsKey(
              io.grpc.Metadata.Key.of(hopByHop, io.grpc.Metadata.ASCII_STRING_MARSHALLER)),
          hopByHop + " is not passed on: " + headers);
    }
  }

  @Test
  void queryParametersFillFieldsByTheirJsonNames() throws Exception {
    HttpResponse<String> res = call("GET", "/api/v1/nodes?area=east&page=2&pageSize=10", null);
    assertEquals(200, res.statusCode(), res.body());
    assertEquals(
        ListNodesRequest.newBuilder().setArea("east").setPage(2).setPageSize(10).build(),
        lastRequest.get());
    assertEquals("application/json", res.headers().firstValue("Content-Type").orElse(""));
    assertTrue(res.body().contains("\"pageSize\":10"), res.body());
    assertTrue(res.body().contains("\"total\":1"), res.body());
  }

  @Test
  void badQueryParametersAreRejectedByName() throws Exception {
    HttpResponse<String> snake = call("GET", "/api/v1/nodes?page_size=10", null);
    assertEquals(400, snake.statusCode());
    assertTrue(
        snake.body().contains("unknown query parameter 'page_size'; use 'pageSize'"), snake.body());
    HttpResponse<String> unknown = call("GET", "/api/v1/nodes?colour=red", null);
    assertEquals(400, unknown.statusCode());
    assertTrue(unknown.body().contains("unknown query parameter 'colour'"), unknown.body());
    HttpResponse<String> notANumber = call("GET", "/api/v1/nodes?page=two", null);
    assertEquals(400, notANumber.statusCode());
    assertTrue(
        notANumber
            .body()
            .contains("query parameter 'page' has an invalid value 'two' for a integer field"),
        notANumber.body());
  }

  @Test
  void pathVariablesAndBodyMakeOneRequest() throws Exception {
    HttpResponse<String> res =
        call("POST", "/api/v1/nodes/n1/agents/a1/restart", "{\"timeout\":\"7s\"}");
    assertEquals(200, res.statusCode(), res.body());
    OperateAgentRequest req = (OperateAgentRequest) lastRequest.get();
    assertEquals("n1", req.getNodeId());
    assertEquals("a1", req.getAgentId());
    assertEquals("restart", req.getOperation());
    assertEquals(7, req.getTimeout().getSeconds());
    assertTrue(res.body().contains("\"message\":\"restart 7\""), res.body());
  }

  @Test
  void malformedBodiesGetTheParseError() throws Exception {
    HttpResponse<String> res = call("POST", "/api/v1/nodes/n1/agents/a1/restart", "{\"timeout\":");
    assertEquals(400, res.statusCode());
    assertTrue(
        res.body()
            .startsWith(
                "{\"code\":3,\"status\":\"INVALID_ARGUMENT\",\"message\":\"invalid JSON body:"),
        res.body());
    HttpResponse<String> wrongType =
        call("POST", "/api/v1/nodes/n1/agents/a1/restart", "{\"timeout\":\"soon\"}");
    assertEquals(400, wrongType.statusCode());
  }

  @Test
  void statusesMapToHttpWithAJsonBodyAndNoStackTrace() throws Exception {
    HttpResponse<String> missing = call("GET", "/api/v1/nodes/n1/agents/missing", null);
    assertEquals(404, missing.statusCode());
    assertEquals(
        "{\"code\":5,\"status\":\"NOT_FOUND\",\"message\":\"agent 'missing' does not exist\",\"details\":[]}",
        missing.body());
    HttpResponse<String> boom = call("GET", "/api/v1/nodes/n1/agents/boom", null);
    assertEquals(500, boom.statusCode());
    assertTrue(boom.body().contains("\"status\":\"INTERNAL\""), boom.body());
    assertTrue(
        !boom.body().contains("secret internal detail") && !boom.body().contains("at io."),
        boom.body());
  }

  @Test
  void wrongMethodIs405AndUnknownPathsFallThrough() throws Exception {
    HttpResponse<String> wrong = call("DELETE", "/api/v1/nodes/n1", null);
    assertEquals(405, wrong.statusCode());
    assertEquals("GET", wrong.headers().firstValue("Allow").orElse(""));
    assertEquals(404, call("GET", "/nothing/here", null).statusCode());
  }

  @Test
  void everyAnnotatedMethodHasARoute() {
    List<String> routes = HttpJsonTranscoder.create(List.of(new EchoFleet())).describeRoutes();
    int rules = 0;
    for (var method :
        io.opsscaffold.api.fleet.v1.FleetProto.getDescriptor().getServices().get(0).getMethods()) {
      if (method.getOptions().hasExtension(com.google.api.AnnotationsProto.http)) {
        rules +=
            1
                + method
                    .getOptions()
                    .getExtension(com.google.api.AnnotationsProto.http)
                    .getAdditionalBindingsCount();
      }
    }
    assertEquals(rules, routes.size(), routes.toString());
    assertTrue(
        routes.contains(
            "POST /api/v1/availability/summary -> opsscaffold.fleet.v1.FleetService/GetAvailabilitySummary"),
        "additional bindings are routes too");
    assertTrue(
        routes.contains(
            "POST /api/v1/nodes/{node_id}/agents/{agent_id}/{operation} -> opsscaffold.fleet.v1.FleetService/OperateAgent"));
  }
}
