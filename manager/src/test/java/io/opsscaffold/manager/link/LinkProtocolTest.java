package io.opsscaffold.manager.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.api.fleet.v1.ListAgentsRequest;
import io.opsscaffold.api.fleet.v1.OperateAgentRequest;
import io.opsscaffold.api.fleet.v1.OperateAgentResponse;
import io.opsscaffold.api.link.v1.AgentDelta;
import io.opsscaffold.api.link.v1.AgentOperation;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Deltas;
import io.opsscaffold.api.link.v1.FullState;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.Ping;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The stream rules of DESIGN.md, checked against a real manager (embedded database, real gRPC on
 * loopback) with a scripted daemon on the other end of the link.
 */
class LinkProtocolTest {
  private static final AtomicInteger NODES = new AtomicInteger();
  private static ManagerApp manager;
  private static Telemetry telemetry;
  private static ManagedChannel channel;
  private static FleetServiceGrpc.FleetServiceBlockingStub fleet;

  @BeforeAll
  static void start() {
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                TestDatabases.h2(),
                Duration.ofMillis(300),
                Duration.ofMillis(800),
                Duration.ofSeconds(2),
                Optional.empty()),
            telemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    fleet = FleetServiceGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    manager.close();
    telemetry.close();
  }

  private static String newNode() {
    return "link-test-" + NODES.incrementAndGet();
  }

  private static AgentState agent(String id, Lifecycle lifecycle, int pid) {
    return AgentState.newBuilder()
        .setAgentId(id)
        .setType("t")
        .setLifecycle(lifecycle)
        .setPid(pid)
        .build();
  }

  private static java.util.List<Agent> agents(String nodeId) {
    return fleet
        .listAgents(ListAgentsRequest.newBuilder().setNodeId(nodeId).build())
        .getAgentsList();
  }

  @Test
  void fullStateIsAcknowledgedOnlyOnceItIsReadable() throws Exception {
    FakeDaemon d = new FakeDaemon(channel, newNode()).hello();
    long seq =
        d.fullState(
            agent("a", Lifecycle.LIFECYCLE_RUNNING, 11),
            agent("b", Lifecycle.LIFECYCLE_STOPPED, 0));
    assertEquals(seq, d.next(ManagerMessage.BodyCase.ACK).getAck().getSeq());
    var listed = agents(d.nodeId);
    assertEquals(2, listed.size(), "acknowledged state is committed");
    assertEquals(11, listed.get(0).getPid());

    long deltaSeq = d.delta(agent("a", Lifecycle.LIFECYCLE_RESTARTING, 0));
    assertEquals(deltaSeq, d.next(ManagerMessage.BodyCase.ACK).getAck().getSeq());
    assertEquals(Lifecycle.LIFECYCLE_RESTARTING, agents(d.nodeId).get(0).getLifecycle());

    d.fullState(agent("b", Lifecycle.LIFECYCLE_RUNNING, 12));
    d.next(ManagerMessage.BodyCase.ACK);
    assertEquals(
        java.util.List.of("b"),
        agents(d.nodeId).stream().map(Agent::getAgentId).toList(),
        "a full state replaces the node's agent set");
    d.out.onCompleted();
  }

  @Test
  void aSequenceGapAsksForFullStateAndIgnoresDeltasUntilThen() throws Exception {
    FakeDaemon d = new FakeDaemon(channel, newNode()).hello();
    d.fullState(agent("a", Lifecycle.LIFECYCLE_RUNNING, 11));
    d.next(ManagerMessage.BodyCase.ACK);
    d.seq += 5; // lose five messages
    d.delta(agent("a", Lifecycle.LIFECYCLE_STOPPED, 0));
    assertTrue(
        d.next(ManagerMessage.BodyCase.RESYNC).getResync().getReason().contains("sequence gap"));
    d.delta(agent("a", Lifecycle.LIFECYCLE_FAILED, 0));
    assertEquals(
        Lifecycle.LIFECYCLE_RUNNING,
        agents(d.nodeId).get(0).getLifecycle(),
        "deltas after a gap wait for the full state");
    long seq = d.fullState(agent("a", Lifecycle.LIFECYCLE_STOPPED, 0));
    assertEquals(seq, d.next(ManagerMessage.BodyCase.ACK).getAck().getSeq());
    assertEquals(Lifecycle.LIFECYCLE_STOPPED, agents(d.nodeId).get(0).getLifecycle());
    d.out.onCompleted();
  }

  @Test
  void theFirstMessageMustBeAValidHello() throws Exception {
    FakeDaemon noHello = new FakeDaemon(channel, newNode());
    noHello.fullState(agent("a", Lifecycle.LIFECYCLE_RUNNING, 1));
    Status s = noHello.ended.get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.FAILED_PRECONDITION, s.getCode());
    assertTrue(
        s.getDescription().contains("first message on the link must be Hello"), s.getDescription());

    FakeDaemon badId = new FakeDaemon(channel, "bad id/../x");
    badId.send(DaemonMessage.newBuilder().setHello(Hello.newBuilder().setNodeId(badId.nodeId)));
    Status bad = badId.ended.get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.INVALID_ARGUMENT, bad.getCode());
    assertTrue(bad.getDescription().startsWith("hello.node_id must be"), bad.getDescription());
  }

  @Test
  void aNewStreamFromTheSameNodeReplacesTheOldOne() throws Exception {
    String node = newNode();
    FakeDaemon first = new FakeDaemon(channel, node).hello();
    FakeDaemon second = new FakeDaemon(channel, node).hello();
    Status s = first.ended.get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.ABORTED, s.getCode());
    assertTrue(s.getDescription().contains("replaced by a newer stream"));
    second.send(DaemonMessage.newBuilder().setPing(Ping.getDefaultInstance()));
    second.next(ManagerMessage.BodyCase.PONG);
    awaitOnline(node);
    second.out.onCompleted();
  }

  @Test
  void aSilentStreamIsDroppedAndTheNodeGoesOfflineAfterTheGrace() throws Exception {
    FakeDaemon d = new FakeDaemon(channel, newNode()).hello();
    d.fullState(agent("a", Lifecycle.LIFECYCLE_RUNNING, 5));
    d.next(ManagerMessage.BodyCase.ACK);
    Status s =
        d.ended.get(5, TimeUnit.SECONDS); // ping interval 300 ms: dropped after ~900 ms of silence
    assertEquals(Status.Code.UNAVAILABLE, s.getCode());
    assertTrue(s.getDescription().startsWith("no message from the daemon for"), s.getDescription());
    Await.until(
        Duration.ofSeconds(5),
        "the node to go OFFLINE",
        () -> connectivity(d.nodeId),
        c -> c == Connectivity.CONNECTIVITY_OFFLINE);
    assertEquals(-1, agents(d.nodeId).get(0).getAvailability());
  }

  @Test
  void operationsTravelDownTheStreamAndTheDaemonsAnswerComesBack() throws Exception {
    FakeDaemon d = new FakeDaemon(channel, newNode()).hello().keepAlive();
    d.fullState(agent("a", Lifecycle.LIFECYCLE_RUNNING, 5));
    d.next(ManagerMessage.BodyCase.ACK);

    CompletableFuture<OperateAgentResponse> answer =
        CompletableFuture.supplyAsync(
            () ->
                fleet.operateAgent(
                    OperateAgentRequest.newBuilder()
                        .setNodeId(d.nodeId)
                        .setAgentId("a")
                        .setOperation("restart")
                        .build()));
    ManagerMessage command = d.next(ManagerMessage.BodyCase.COMMAND);
    assertEquals(
        AgentOperation.AGENT_OPERATION_RESTART, command.getCommand().getOperate().getOperation());
    assertEquals("a", command.getCommand().getOperate().getAgentId());
    assertTrue(command.getCommand().hasDeadline());
    d.send(
        DaemonMessage.newBuilder()
            .setCommandResult(
                CommandResult.newBuilder()
                    .setCommandId(command.getCommand().getCommandId())
                    .setSuccess(true)
                    .setMessage("restarted (pid 5 -> 6)")
                    .setAgent(agent("a", Lifecycle.LIFECYCLE_RUNNING, 6))));
    OperateAgentResponse response = answer.get(5, TimeUnit.SECONDS);
    assertEquals("restarted (pid 5 -> 6)", response.getMessage());
    assertEquals(6, response.getAgent().getPid());
    assertEquals(command.getCommand().getCommandId(), response.getCommandId());

    CompletableFuture<OperateAgentResponse> refused =
        CompletableFuture.supplyAsync(
            () ->
                fleet.operateAgent(
                    OperateAgentRequest.newBuilder()
                        .setNodeId(d.nodeId)
                        .setAgentId("a")
                        .setOperation("stop")
                        .build()));
    ManagerMessage stop = d.next(ManagerMessage.BodyCase.COMMAND);
    d.send(
        DaemonMessage.newBuilder()
            .setCommandResult(
                CommandResult.newBuilder()
                    .setCommandId(stop.getCommand().getCommandId())
                    .setSuccess(false)
                    .setErrorCode(5)
                    .setMessage("agent 'a' is not supervised by this daemon")));
    var error =
        assertThrows(
            java.util.concurrent.ExecutionException.class, () -> refused.get(5, TimeUnit.SECONDS));
    Status failed = ((StatusRuntimeException) error.getCause()).getStatus();
    assertEquals(Status.Code.NOT_FOUND, failed.getCode());
    assertTrue(
        failed.getDescription().contains("could not stop agent a: agent 'a' is not supervised"));
    d.out.onCompleted();
  }

  @Test
  void anUnansweredCommandTimesOutAndADisconnectFailsWhatIsPending() throws Exception {
    FakeDaemon d = new FakeDaemon(channel, newNode()).hello().keepAlive();
    d.fullState(agent("a", Lifecycle.LIFECYCLE_RUNNING, 5));
    d.next(ManagerMessage.BodyCase.ACK);
    long begun = System.nanoTime();
    StatusRuntimeException timedOut =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                fleet.operateAgent(
                    OperateAgentRequest.newBuilder()
                        .setNodeId(d.nodeId)
                        .setAgentId("a")
                        .setOperation("start")
                        .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                        .build()));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, timedOut.getStatus().getCode());
    assertTrue(
        timedOut
            .getStatus()
            .getDescription()
            .contains(
                "(start of agent a on node "
                    + d.nodeId
                    + ") got no answer from the daemon within 1 s"),
        timedOut.getStatus().getDescription());
    assertTrue(System.nanoTime() - begun >= TimeUnit.MILLISECONDS.toNanos(1000));
    assertEquals(
        AgentOperation.AGENT_OPERATION_START,
        d.next(ManagerMessage.BodyCase.COMMAND).getCommand().getOperate().getOperation(),
        "the daemon did receive the command that timed out");

    CompletableFuture<OperateAgentResponse> pending =
        CompletableFuture.supplyAsync(
            () ->
                fleet.operateAgent(
                    OperateAgentRequest.newBuilder()
                        .setNodeId(d.nodeId)
                        .setAgentId("a")
                        .setOperation("stop")
                        .build()));
    assertEquals(
        AgentOperation.AGENT_OPERATION_STOP,
        d.next(ManagerMessage.BodyCase.COMMAND).getCommand().getOperate().getOperation());
    synchronized (d) {
      d.out.onCompleted();
      d.ended.complete(Status.OK);
    }
    var error =
        assertThrows(
            java.util.concurrent.ExecutionException.class, () -> pending.get(5, TimeUnit.SECONDS));
    Status s = ((StatusRuntimeException) error.getCause()).getStatus();
    assertEquals(Status.Code.UNAVAILABLE, s.getCode());
    assertTrue(
        s.getDescription().contains("disconnected before answering (stop of agent a"),
        s.getDescription());
  }

  /**
   * A daemon that stops reading its stream (its flow-control window full, as when its host is
   * paused) must not hold up anyone else: the StateWriter acknowledges every session of a batch,
   * and before the fix it blocked on this daemon's Ack and with it every other daemon's state.
   */
  @Test
  void aDaemonThatStopsReadingHoldsUpNoOtherDaemon() throws Exception {
    String stalledNode = newNode();
    try (NonReadingDaemon stalled = new NonReadingDaemon(manager.port(), stalledNode)) {
      FakeDaemon healthy = new FakeDaemon(channel, newNode()).hello();
      healthy.fullState(agent("a", Lifecycle.LIFECYCLE_RUNNING, 1));
      healthy.next(ManagerMessage.BodyCase.ACK);
      for (int i = 2; i < 40; i++) {
        // Each round the stalled daemon's delta goes first, so its Ack is due in the same batch as
        // the healthy daemon's or an earlier one; its 200-byte window fills within a few rounds.
        stalled.send(
            DaemonMessage.newBuilder()
                .setDeltas(
                    Deltas.newBuilder()
                        .addDeltas(
                            AgentDelta.newBuilder()
                                .setState(agent("a", Lifecycle.LIFECYCLE_RUNNING, i)))));
        long healthySeq = healthy.delta(agent("a", Lifecycle.LIFECYCLE_RUNNING, i));
        assertEquals(
            healthySeq,
            healthy.next(ManagerMessage.BodyCase.ACK).getAck().getSeq(),
            "round " + i + ": the healthy daemon's state is acknowledged");
      }
      assertEquals(
          39,
          agents(stalledNode).get(0).getPid(),
          "the stalled daemon's state is written all the same");

      // Once it reads again, it gets what waited, up to the Ack of its last message.
      long last = stalled.seq;
      stalled.read();
      Await.until(
          Duration.ofSeconds(5),
          "the stalled daemon's last Ack",
          () -> stalled.got.stream().anyMatch(m -> m.hasAck() && m.getAck().getSeq() == last),
          found -> found);
      assertEquals(
          ManagerMessage.BodyCase.WELCOME,
          stalled.got.peek().getBodyCase(),
          "messages keep their order");
      stalled.out.onCompleted();
      healthy.out.onCompleted();
    }
  }

  /**
   * A daemon that never reads while messages for it pile up is disconnected, not buffered forever.
   */
  @Test
  void aDaemonThatNeverReadsIsDisconnectedOnceTooMuchWaitsForIt() throws Exception {
    String node = newNode();
    try (NonReadingDaemon stalled = new NonReadingDaemon(manager.port(), node)) {
      Await.until(
          Duration.ofSeconds(5),
          "the node's agent to be written",
          () -> agents(node).size(),
          n -> n == 1);
      // Every Ping is answered with a Pong, which waits for the daemon to read.
      for (int i = 0; i < LinkSession.MAX_UNSENT + 50; i++) {
        stalled.send(DaemonMessage.newBuilder().setPing(Ping.getDefaultInstance()));
      }
      StatusRuntimeException refused =
          Await.until(
              Duration.ofSeconds(10),
              "the node's session to end",
              () -> {
                try {
                  fleet
                      .withDeadlineAfter(2, TimeUnit.SECONDS)
                      .operateAgent(
                          OperateAgentRequest.newBuilder()
                              .setNodeId(node)
                              .setAgentId("a")
                              .setOperation("start")
                              .build());
                  return null;
                } catch (StatusRuntimeException e) {
                  if (e.getStatus().getCode() != Status.Code.UNAVAILABLE
                      && e.getStatus().getCode() != Status.Code.DEADLINE_EXCEEDED) {
                    throw e;
                  }
                  return e.getStatus().getDescription().contains("not connected") ? e : null;
                }
              },
              e -> e != null);
      assertTrue(
          refused.getStatus().getDescription().contains(node),
          refused.getStatus().getDescription());
    }
  }

  /**
   * A daemon's end of a link stream that reads nothing from the manager until {@link #read}, on its
   * own connection with a 200-byte flow-control window, so that what waits for it fills the window.
   */
  private static final class NonReadingDaemon
      implements ClientResponseObserver<DaemonMessage, ManagerMessage>, AutoCloseable {
    final BlockingQueue<ManagerMessage> got = new LinkedBlockingQueue<>();
    final StreamObserver<DaemonMessage> out;
    private final ManagedChannel narrow;
    private ClientCallStreamObserver<DaemonMessage> call;
    long seq;

    /** Says Hello as {@code nodeId} and sends a full state of one running agent, "a". */
    NonReadingDaemon(int port, String nodeId) {
      narrow =
          NettyChannelBuilder.forAddress("127.0.0.1", port)
              .usePlaintext()
              .flowControlWindow(200)
              .build();
      out = DaemonLinkServiceGrpc.newStub(narrow).connect(this);
      send(DaemonMessage.newBuilder().setHello(Hello.newBuilder().setNodeId(nodeId)));
      send(
          DaemonMessage.newBuilder()
              .setFullState(
                  FullState.newBuilder().addAgents(agent("a", Lifecycle.LIFECYCLE_RUNNING, 1))));
    }

    void send(DaemonMessage.Builder m) {
      out.onNext(m.setSeq(++seq).build());
    }

    void read() {
      call.request(Integer.MAX_VALUE);
    }

    @Override
    public void close() throws InterruptedException {
      narrow.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<DaemonMessage> call) {
      call.disableAutoRequestWithInitial(0);
      this.call = call;
    }

    @Override
    public void onNext(ManagerMessage m) {
      got.add(m);
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }

  private Connectivity connectivity(String node) {
    return fleet.getNode(GetNodeRequest.newBuilder().setNodeId(node).build()).getConnectivity();
  }

  /** The Welcome goes out before the node's row commits: waits until the node reads ONLINE. */
  private void awaitOnline(String node) {
    Await.until(
        Duration.ofSeconds(5),
        "node " + node + " to read ONLINE",
        () -> connectivity(node),
        c -> c == Connectivity.CONNECTIVITY_ONLINE);
  }
}
