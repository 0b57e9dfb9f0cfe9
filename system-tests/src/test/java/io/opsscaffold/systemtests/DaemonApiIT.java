package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.daemon.v1.AgentMetrics;
import io.opsscaffold.api.daemon.v1.HostMetrics;
import io.opsscaffold.api.daemon.v1.ListLocalAgentsResponse;
import io.opsscaffold.api.daemon.v1.LocalAgent;
import io.opsscaffold.api.daemon.v1.OperateLocalAgentResponse;
import io.opsscaffold.api.daemon.v1.ReloadConfigResponse;
import io.opsscaffold.api.daemon.v1.TailLogsResponse;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/** The daemon's local API over HTTP/JSON and gRPC, and configuration reload, on a real daemon. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DaemonApiIT {
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    stack = new Stack(List.of("a1", "a2"), Stack.env(Map.of()));
    stack.startManager().startDaemon();
    Await.until(
        Duration.ofSeconds(20),
        "both agents RUNNING",
        this::local,
        r ->
            r.getAgentsCount() == 2
                && r.getAgentsList().stream()
                    .allMatch(a -> a.getState().getLifecycle() == Lifecycle.LIFECYCLE_RUNNING));
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  private ListLocalAgentsResponse local() {
    return Stack.parse(
        stack.getDaemon("/api/v1/local/agents").body(), ListLocalAgentsResponse.newBuilder());
  }

  private int localPid(String id) {
    return local().getAgentsList().stream()
        .filter(a -> a.getState().getAgentId().equals(id))
        .map(a -> a.getState().getPid())
        .findFirst()
        .orElse(0);
  }

  @Test
  @Order(1)
  void agentsAndTheirMetricsAreReadable() {
    LocalAgent a1 =
        Await.until(
            Duration.ofSeconds(10),
            "a resource sample of a1",
            () ->
                Stack.parse(
                    stack.getDaemon("/api/v1/local/agents/a1").body(), LocalAgent.newBuilder()),
            a -> a.hasLatest());
    assertTrue(a1.getLatest().getRssBytes() > 10_000_000, a1.toString());
    assertTrue(a1.getLatest().getThreads() > 5);
    AgentMetrics history =
        Await.until(
            Duration.ofSeconds(10),
            "three samples",
            () ->
                Stack.parse(
                    stack.getDaemon("/api/v1/local/agents/a1/metrics?duration=1m").body(),
                    AgentMetrics.newBuilder()),
            m -> m.getSamplesCount() >= 3);
    assertTrue(
        history.getSamples(0).getAt().getSeconds() <= history.getSamples(2).getAt().getSeconds());
    HostMetrics host =
        Stack.parse(
            stack.getDaemon("/api/v1/local/host/metrics?duration=300s").body(),
            HostMetrics.newBuilder());
    assertTrue(host.getSamplesCount() >= 1);
    assertTrue(
        host.getSamples(0).getMemoryTotalBytes() > host.getSamples(0).getMemoryAvailableBytes());
    assertEquals(Runtime.getRuntime().availableProcessors(), host.getSamples(0).getCores());

    assertEquals(404, stack.getDaemon("/api/v1/local/agents/ghost").statusCode());
    HttpResponse<String> tooLong = stack.getDaemon("/api/v1/local/agents/a1/metrics?duration=48h");
    assertEquals(400, tooLong.statusCode());
    assertTrue(tooLong.body().contains("duration must be between 1s and 24h"), tooLong.body());
  }

  @Test
  @Order(2)
  void logsTailExactlyAndFollowNewLinesUntilTheClientLeaves() throws Exception {
    TailLogsResponse tail =
        Stack.parse(
            stack.getDaemon("/api/v1/local/agents/a1/logs?lines=2").body(),
            TailLogsResponse.newBuilder());
    assertEquals(2, tail.getLinesCount());
    List<String> file = Files.readAllLines(stack.dir.resolve("daemon-data/logs/a1.log"));
    assertEquals(
        file.subList(file.size() - 2, file.size()), tail.getLinesList(), "exactly the last lines");
    HttpResponse<String> tooMany = stack.getDaemon("/api/v1/local/agents/a1/logs?lines=5000");
    assertEquals(400, tooMany.statusCode());
    assertTrue(tooMany.body().contains("lines must be between 1 and 1000"), tooMany.body());

    HttpClient client = HttpClient.newHttpClient();
    HttpResponse<Stream<String>> follow =
        client.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + stack.daemonPort
                            + "/api/v1/local/agents/a1/logs/follow?lines=1"))
                .header("Authorization", "Bearer " + stack.daemonToken())
                .build(),
            HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, follow.statusCode());
    assertEquals("application/x-ndjson", follow.headers().firstValue("Content-Type").orElse(""));
    Iterator<String> lines = follow.body().iterator();
    assertTrue(lines.next().startsWith("{\"text\":"), "one NDJSON object per line");
    // Restarting the agent makes it write new lines; the follower must deliver them.
    CompletableFuture.runAsync(() -> stack.postDaemon("/api/v1/local/agents/a1/restart", ""));
    String seen =
        CompletableFuture.supplyAsync(
                () -> {
                  while (lines.hasNext()) {
                    String l = lines.next();
                    if (l.contains("serving on")) {
                      return l;
                    }
                  }
                  return "";
                })
            .get(30, TimeUnit.SECONDS);
    assertTrue(seen.contains("serving on"), seen);
    follow.body().close();
  }

  @Test
  @Order(3)
  void operationsAndReflectionWork() throws Exception {
    int before = localPid("a2");
    HttpResponse<String> res = stack.postDaemon("/api/v1/local/agents/a2/restart", "");
    assertEquals(200, res.statusCode(), res.body());
    OperateLocalAgentResponse r = Stack.parse(res.body(), OperateLocalAgentResponse.newBuilder());
    assertTrue(r.getMessage().startsWith("restarted (pid " + before + " -> "), r.getMessage());
    assertEquals(400, stack.postDaemon("/api/v1/local/agents/a2/dance", "").statusCode());

    io.grpc.Metadata auth = new io.grpc.Metadata();
    auth.put(
        io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + stack.daemonToken());
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", stack.daemonPort)
            .usePlaintext()
            .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(auth))
            .build();
    try {
      CompletableFuture<Set<String>> names = new CompletableFuture<>();
      StreamObserver<ServerReflectionRequest> req =
          ServerReflectionGrpc.newStub(channel)
              .serverReflectionInfo(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ServerReflectionResponse v) {
                      names.complete(
                          v.getListServicesResponse().getServiceList().stream()
                              .map(s -> s.getName())
                              .collect(Collectors.toSet()));
                    }

                    @Override
                    public void onError(Throwable t) {
                      names.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {}
                  });
      req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
      assertTrue(names.get(10, TimeUnit.SECONDS).contains("opsscaffold.daemon.v1.DaemonService"));
      req.onCompleted();
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  @Order(4)
  void reloadAddsRemovesAndChangesAgentsWithoutTouchingTheOthers() throws Exception {
    int a1 = localPid("a1");
    int a2 = localPid("a2");
    Path config = stack.dir.resolve("daemon.yaml");
    String original = Files.readString(config);
    String withoutA2 = original.substring(0, original.indexOf("  - id: a2"));
    String a3 =
        """
          - id: a3
            type: script
            command: sleep
            args: ["300"]
            start-seconds: 100ms
        """;
    Files.writeString(config, withoutA2 + a3);
    HttpResponse<String> res = stack.postDaemon("/api/v1/local/reload", "");
    assertEquals(200, res.statusCode(), res.body());
    ReloadConfigResponse r = Stack.parse(res.body(), ReloadConfigResponse.newBuilder());
    assertEquals(List.of("a3"), r.getAddedList());
    assertEquals(List.of("a2"), r.getRemovedList());
    assertEquals(List.of("a1"), r.getUnchangedList());
    assertEquals(List.of(), r.getChangedList());
    assertEquals(a1, localPid("a1"), "the untouched agent kept its process");
    assertFalse(ProcessHandle.of(a2).map(ProcessHandle::isAlive).orElse(false), "a2 was stopped");
    var fleet =
        Await.until(
            Duration.ofSeconds(10),
            "the manager to see a3 and no a2",
            stack::agents,
            l ->
                l.getAgentsList().stream()
                    .map(Agent::getAgentId)
                    .collect(Collectors.toSet())
                    .equals(Set.of("a1", "a3")));
    assertEquals(2, fleet.getAgentsCount());

    // SIGHUP does the same; this time a3 changes and is restarted, a1 is again left alone.
    int a3Pid = Await.until(Duration.ofSeconds(10), "a3 running", () -> localPid("a3"), p -> p > 0);
    Files.writeString(config, withoutA2 + a3.replace("\"300\"", "\"301\""));
    ProcessBuilder hup = new ProcessBuilder("kill", "-HUP", Long.toString(stack.daemon.pid()));
    assertEquals(0, hup.start().waitFor());
    int newA3 =
        Await.until(
            Duration.ofSeconds(20),
            "a3 restarted with its new arguments",
            () -> localPid("a3"),
            p -> p > 0 && p != a3Pid);
    assertTrue(
        ProcessHandle.of(newA3).orElseThrow().info().commandLine().orElse("").contains("301"));
    assertEquals(a1, localPid("a1"));
    assertTrue(stack.daemon.alive(), "SIGHUP does not stop the daemon");

    Files.writeString(config, withoutA2 + a3 + "    colour: blue\n");
    HttpResponse<String> bad = stack.postDaemon("/api/v1/local/reload", "");
    assertEquals(400, bad.statusCode());
    assertTrue(
        bad.body().contains("agents.1.colour: unknown key")
            && bad.body().contains("nothing was changed"),
        bad.body());
    assertEquals(newA3, localPid("a3"));
  }

  @Test
  @Order(5)
  void everyBadHeartbeatGetsAClearErrorFromTheRealDaemonAndItStaysUp() {
    String now = java.time.Instant.now().toString();
    List<String> bad =
        List.of(
            "",
            "   ",
            "{",
            "not json",
            "[1,2]",
            "\"text\"",
            "42",
            "null",
            "{}",
            "{\"agent_id\":null}",
            "{\"agent_id\":7}",
            "{\"agent_id\":\"\",\"pid\":1}",
            "{\"agent_id\":\"a1\"}",
            "{\"agent_id\":\"a1\",\"pid\":\"42\"}",
            "{\"agent_id\":\"a1\",\"pid\":4.2}",
            "{\"agent_id\":\"a1\",\"pid\":-1}",
            "{\"agent_id\":\"a1\",\"pid\":0}",
            "{\"agent_id\":\"a1\",\"pid\":99999999999999999999999}",
            "{\"agent_id\":\"a1\",\"pid\":1}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"happy\"}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":true}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"cpu\":\"high\"}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"cpu\":101}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"memory\":-5}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\"}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"yesterday\"}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":1700000000}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"2001-01-01T00:00:00Z\"}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\"2999-01-01T00:00:00Z\"}",
            "{\"agent_id\":\"ghost\",\"pid\":1,\"status\":\"running\",\"timestamp\":\""
                + now
                + "\"}",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\""
                + now
                + "\"} trailing",
            "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\""
                + now
                + "\",\"events_processed\":-1}");
    assertTrue(bad.size() >= 30);
    for (String body : bad) {
      HttpResponse<String> res = stack.postDaemon("/heartbeat", body);
      assertEquals(400, res.statusCode(), "for " + body + ": " + res.body());
      assertTrue(
          res.body().startsWith("{\"error\":\"") && !res.body().contains("Exception"), res.body());
    }
    HttpResponse<String> huge =
        stack.postDaemon("/heartbeat", "{\"pad\":\"" + "x".repeat(20_000) + "\"}");
    assertEquals(413, huge.statusCode(), huge.body());
    assertTrue(huge.body().contains("larger than"), huge.body());
    assertTrue(stack.daemon.alive());
    assertEquals(
        200, stack.getDaemon("/api/v1/local/agents").statusCode(), "the daemon still answers");
  }

  @Test
  @Order(6)
  void theManagerReadsLogsAndMetricsThroughTheStream() {
    var logs =
        Await.until(
            Duration.ofSeconds(10),
            "a1's logs through the manager",
            () -> stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/a1/logs?lines=3"),
            r -> r.statusCode() == 200);
    io.opsscaffold.api.fleet.v1.GetAgentLogsResponse lines =
        Stack.parse(logs.body(), io.opsscaffold.api.fleet.v1.GetAgentLogsResponse.newBuilder());
    assertEquals(3, lines.getLinesCount());
    TailLogsResponse local =
        Stack.parse(
            stack.getDaemon("/api/v1/local/agents/a1/logs?lines=3").body(),
            TailLogsResponse.newBuilder());
    assertEquals(local.getLinesList(), lines.getLinesList(), "the same code answers both");

    io.opsscaffold.api.fleet.v1.GetAgentMetricsResponse metrics =
        Stack.parse(
            stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/a1/metrics?duration=1m").body(),
            io.opsscaffold.api.fleet.v1.GetAgentMetricsResponse.newBuilder());
    assertTrue(metrics.getSamplesCount() >= 1, metrics.toString());
    assertTrue(metrics.getSamples(0).getRssBytes() > 0);

    HttpResponse<String> tooMany =
        stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/a1/logs?lines=1001");
    assertEquals(400, tooMany.statusCode());
    assertTrue(tooMany.body().contains("lines must be between 1 and 1000"), tooMany.body());
    assertEquals(404, stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/ghost/logs").statusCode());
  }

  @Test
  void theLocalApiOnItsUnixSocketNeedsNoTokenOverGrpcOrHttp() throws Exception {
    Path socket = stack.dir.resolve("daemon-data").resolve("api.sock");
    assertEquals(
        "rw-------",
        java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(socket)),
        "the daemon's user only");
    var group = new io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup(1);
    ManagedChannel channel =
        NettyChannelBuilder.forAddress(
                new io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress(
                    socket.toString()))
            .eventLoopGroup(group)
            .channelType(io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel.class)
            .usePlaintext()
            .build();
    try {
      ListLocalAgentsResponse agents =
          io.opsscaffold.api.daemon.v1.DaemonServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .listAgents(io.opsscaffold.api.daemon.v1.ListLocalAgentsRequest.getDefaultInstance());
      assertTrue(
          agents.getAgentsList().stream().anyMatch(a -> a.getState().getAgentId().equals("a1")),
          "gRPC over the socket, no token: " + agents);
    } finally {
      channel.shutdownNow();
      group.shutdownGracefully();
    }
    try (java.nio.channels.SocketChannel c =
        java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
      c.write(
          java.nio.ByteBuffer.wrap(
              "GET /api/v1/local/agents/a1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                  .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      java.io.InputStream in = java.nio.channels.Channels.newInputStream(c);
      byte[] head = new byte[12];
      assertEquals(12, in.readNBytes(head, 0, 12));
      assertEquals("HTTP/1.1 200", new String(head, java.nio.charset.StandardCharsets.UTF_8));
    }
    HttpResponse<String> tcp =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + stack.daemonPort + "/api/v1/local/agents"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(401, tcp.statusCode(), "over TCP the token is still needed: " + tcp.body());
  }
}
