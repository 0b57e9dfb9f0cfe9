package io.opsscaffold.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.link.v1.AgentOperation;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.OperateAgent;
import io.opsscaffold.api.link.v1.Welcome;
import io.opsscaffold.daemon.supervision.FakeProcessLauncher;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole daemon built by its composition root with fake processes, a manual time and an
 * in-process manager: the parts are wired to each other (supervision to the link, the local API,
 * heartbeats, reload), with real HTTP on loopback.
 */
class DaemonAppTest {
  @TempDir Path dir;
  private final ManualTime time = new ManualTime();
  private final FakeProcessLauncher launcher = new FakeProcessLauncher();
  private final BlockingQueue<DaemonMessage> fromDaemon = new LinkedBlockingQueue<>();
  private final AtomicReference<StreamObserver<ManagerMessage>> toDaemon = new AtomicReference<>();
  private Server manager;
  private Telemetry telemetry;
  private DaemonApp app;
  private Path config;

  private static String yaml(Path dir, String... agents) {
    StringBuilder b =
        new StringBuilder(
            "node:\n  id: n1\n  labels:\n    area: east\nmanager:\n  tls:\n    insecure: true\n"
                + "server:\n  port: 0\n  socket: "
                + dir.resolve("d.sock")
                + "\ndata-dir: "
                + dir.resolve("data")
                + "\nagents:\n");
    for (String a : agents) {
      b.append("  - id: ").append(a).append("\n    command: /bin/true\n    start-seconds: 0s\n");
    }
    return b.toString();
  }

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    manager =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new DaemonLinkServiceGrpc.DaemonLinkServiceImplBase() {
                  @Override
                  public StreamObserver<DaemonMessage> connect(StreamObserver<ManagerMessage> out) {
                    toDaemon.set(out);
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(DaemonMessage m) {
                        fromDaemon.add(m);
                      }

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {}
                    };
                  }
                })
            .build()
            .start();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    config = Files.writeString(dir.resolve("daemon.yaml"), yaml(dir, "a1"));
    app =
        DaemonApp.start(
            DaemonSettings.read(Settings.ofYaml(Files.readString(config))),
            () -> DaemonSettings.read(Settings.ofYaml(readConfig())),
            telemetry,
            wiring(name));
  }

  /** The daemon on the fake launcher and manual time, its link to the in-process {@code name}. */
  private DaemonApp.Wiring wiring(String name) {
    return new DaemonApp.Wiring(
        time,
        () -> 0.0,
        logs -> launcher,
        settings ->
            io.opsscaffold.daemon.link.LinkRunnerTest.source(
                InProcessChannelBuilder.forName(name).build()));
  }

  private String readConfig() {
    try {
      return Files.readString(config);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterEach
  void stop() throws Exception {
    if (app != null) {
      app.close();
    }
    telemetry.close();
    manager.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private DaemonMessage next(DaemonMessage.BodyCase body) throws InterruptedException {
    for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); System.nanoTime() < end; ) {
      DaemonMessage m = fromDaemon.poll(50, TimeUnit.MILLISECONDS);
      if (m != null && m.getBodyCase() == body) {
        return m;
      }
    }
    throw new AssertionError("the daemon sent no " + body);
  }

  @Test
  void aPortInUseStopsTheDaemonWithAClearErrorAndNoStackTrace() throws Exception {
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Path other = Files.createDirectories(dir.resolve("second"));
      String yaml =
          yaml(other, "b1").replace("port: 0", "port: " + taken.getLocalPort()).replace("n1", "n2");
      java.io.UncheckedIOException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.io.UncheckedIOException.class,
              () ->
                  DaemonApp.start(
                      DaemonSettings.read(Settings.ofYaml(yaml)),
                      () -> DaemonSettings.read(Settings.ofYaml(yaml)),
                      telemetry,
                      wiring("nowhere")));
      assertEquals(
          "cannot listen on 127.0.0.1:"
              + taken.getLocalPort()
              + " (server.host, server.port): the address is in use or not available here",
          e.getMessage());
    }
  }

  @Test
  void theDaemonReportsItsAgentsToTheManagerAndCarriesOutItsCommands() throws Exception {
    DaemonMessage hello = next(DaemonMessage.BodyCase.HELLO);
    assertEquals("n1", hello.getHello().getNodeId());
    assertEquals("east", hello.getHello().getLabels().getArea());
    assertEquals(
        "a1", next(DaemonMessage.BodyCase.FULL_STATE).getFullState().getAgents(0).getAgentId());
    toDaemon
        .get()
        .onNext(
            ManagerMessage.newBuilder().setWelcome(Welcome.newBuilder().setSessionId("s")).build());
    Await.until(Duration.ofSeconds(5), "the link to be up", app::linked, up -> up);

    Await.until(
        Duration.ofSeconds(5), "the agent to run", () -> launcher.launched.size(), n -> n == 1);
    toDaemon
        .get()
        .onNext(
            ManagerMessage.newBuilder()
                .setCommand(
                    Command.newBuilder()
                        .setCommandId("c1")
                        .setOperate(
                            OperateAgent.newBuilder()
                                .setAgentId("a1")
                                .setOperation(AgentOperation.AGENT_OPERATION_RESTART)))
                .build());
    CommandResult r = next(DaemonMessage.BodyCase.COMMAND_RESULT).getCommandResult();
    assertTrue(r.getSuccess(), r.getMessage());
    assertEquals(2, launcher.launched.size(), "restarted through the supervisor");
  }

  @Test
  void theLocalApiAndHeartbeatsServeTheSameAgents() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    Await.until(
        Duration.ofSeconds(5),
        "the agent to run",
        () -> app.supervisor().runner("a1").orElseThrow().runningPid(),
        pid -> pid > 0);
    URI localAgents = URI.create("http://127.0.0.1:" + app.port() + "/api/v1/local/agents");
    Path tokenFile = dir.resolve("data").resolve("local-api.token");
    for (Optional<String> token :
        List.of(Optional.<String>empty(), Optional.of(Files.readString(tokenFile).strip()))) {
      HttpRequest.Builder b = HttpRequest.newBuilder(localAgents);
      token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
      HttpResponse<String> overTcp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(403, overTcp.statusCode(), "TCP serves heartbeats only: " + overTcp.body());
      assertTrue(overTcp.body().contains("served on the daemon's Unix socket"), overTcp.body());
    }
    Path apiSocket = dir.resolve("data").resolve("api.sock");
    assertEquals(Optional.of(apiSocket), app.apiSocketPath());
    assertEquals(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(apiSocket));
    String overSocket = overUnixSocket(apiSocket, "GET /api/v1/local/agents");
    assertTrue(overSocket.startsWith("HTTP/1.1 200"), overSocket);
    assertTrue(overSocket.contains("\"agentId\":\"a1\""), overSocket);
    HttpResponse<String> beat =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + app.port() + "/heartbeat"))
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"agent_id\":\"a1\",\"pid\":1,\"status\":\"running\",\"timestamp\":\""
                            + time.now()
                            + "\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, beat.statusCode(), beat.body());
    assertEquals(Optional.of(dir.resolve("d.sock")), app.socketPath());
  }

  /** One HTTP/1.1 request over a Unix socket, as curl --unix-socket sends it; the whole answer. */
  static String overUnixSocket(Path socket, String requestLine) throws Exception {
    try (java.nio.channels.SocketChannel c =
        java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
      c.write(
          java.nio.ByteBuffer.wrap(
              (requestLine + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
                  .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      // Helidon keeps the connection open after the answer, whatever the request said: read the
      // head, then as many bytes as it announces.
      java.io.InputStream in = java.nio.channels.Channels.newInputStream(c);
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          break;
        }
        head.append((char) b);
      }
      java.util.regex.Matcher length =
          java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
      byte[] body = length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : new byte[0];
      return head + new String(body, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  @Test
  void aReloadAddsAndRemovesAgentsAndNamesSettingsThatNeedARestart() throws Exception {
    Await.until(Duration.ofSeconds(5), "a1 to run", () -> launcher.launched.size(), n -> n == 1);
    Files.writeString(config, yaml(dir, "a2").replace("area: east", "area: west"));
    var r = app.reload();
    assertEquals(List.of("a2"), r.getAddedList());
    assertEquals(List.of("a1"), r.getRemovedList());
    assertEquals(List.of("node.labels"), r.getNeedsRestartList());
    assertEquals(List.of("a2"), app.supervisor().agentIds());
  }
}
