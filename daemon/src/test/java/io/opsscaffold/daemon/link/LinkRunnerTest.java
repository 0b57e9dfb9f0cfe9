package io.opsscaffold.daemon.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.Durations;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.api.link.v1.AgentOperation;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.OperateAgent;
import io.opsscaffold.api.link.v1.ResyncRequest;
import io.opsscaffold.api.link.v1.Welcome;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.daemon.config.ConfigPusher;
import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.logs.AgentLogs;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.monitor.HealthMonitor;
import io.opsscaffold.daemon.monitor.ResourceMonitor;
import io.opsscaffold.daemon.queries.LocalQueries;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.daemon.supervision.AgentSpec;
import io.opsscaffold.daemon.supervision.FakeProcessLauncher;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's side of the link against an in-process manager the test plays: the stream's order
 * and sequence numbers, keepalive, a dead manager noticed, reconnect with backoff, resync, and
 * commands carried out once. Time is manual: every interval and delay passes when the test says.
 */
public class LinkRunnerTest {
  private static final LinkPolicy POLICY =
      new LinkPolicy(
          "in-process",
          Duration.ofSeconds(1),
          Duration.ofSeconds(8),
          Duration.ofSeconds(10),
          Duration.ZERO,
          Duration.ofHours(1),
          new ManagerTrust.Insecure());

  @TempDir Path dir;
  private final ManualTime time = new ManualTime();
  private final FakeProcessLauncher launcher = new FakeProcessLauncher();
  private final BlockingQueue<ManagerSide> streams = new LinkedBlockingQueue<>();
  private Server server;
  private ManagedChannel channel;
  private Supervisor supervisor;
  private LinkRunner link;

  /** One stream as the manager sees it. */
  static final class ManagerSide implements StreamObserver<DaemonMessage> {
    final StreamObserver<ManagerMessage> out;
    final BlockingQueue<DaemonMessage> got = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> ended = new CompletableFuture<>();

    /** Whether pings are answered, as the manager does; off, the manager is silent. */
    volatile boolean pong = true;

    ManagerSide(StreamObserver<ManagerMessage> out) {
      this.out = out;
    }

    @Override
    public void onNext(DaemonMessage m) {
      got.add(m);
      if (m.hasPing() && pong) {
        out.onNext(
            ManagerMessage.newBuilder()
                .setPong(io.opsscaffold.api.link.v1.Pong.getDefaultInstance())
                .build());
      }
    }

    @Override
    public void onError(Throwable t) {
      ended.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      ended.complete(Status.OK);
    }

    DaemonMessage next() throws InterruptedException {
      DaemonMessage m = got.poll(5, TimeUnit.SECONDS);
      if (m == null) {
        throw new AssertionError("the daemon sent nothing within 5 s");
      }
      return m;
    }

    /** The next message with {@code body}, skipping others (pings, deltas). */
    DaemonMessage next(DaemonMessage.BodyCase body) throws InterruptedException {
      for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
          System.nanoTime() < deadline; ) {
        DaemonMessage m = got.poll(50, TimeUnit.MILLISECONDS);
        if (m != null && m.getBodyCase() == body) {
          return m;
        }
      }
      throw new AssertionError("the daemon sent no " + body + " within 5 s");
    }

    void welcome(Duration pingInterval) {
      out.onNext(
          ManagerMessage.newBuilder()
              .setWelcome(
                  Welcome.newBuilder()
                      .setSessionId("s")
                      .setPingInterval(Durations.fromMillis(pingInterval.toMillis())))
              .build());
    }
  }

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new DaemonLinkServiceGrpc.DaemonLinkServiceImplBase() {
                  @Override
                  public StreamObserver<DaemonMessage> connect(StreamObserver<ManagerMessage> out) {
                    ManagerSide side = new ManagerSide(out);
                    streams.add(side);
                    return side;
                  }
                })
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).build();
    AgentSpec spec =
        new AgentSpec(
            "a1",
            "test",
            "/bin/true",
            List.of(),
            dir,
            Map.of(),
            new RestartPolicy(
                io.opsscaffold.daemon.restart.RestartPolicy.Mode.ALWAYS,
                Duration.ofSeconds(1),
                2,
                Duration.ofSeconds(4),
                Duration.ofMinutes(10),
                3),
            HealthPolicy.defaults(),
            Duration.ofSeconds(5),
            true,
            Duration.ZERO,
            "TERM",
            LogPolicy.defaults(),
            Optional.empty());
    Outbox outbox = new Outbox(time);
    supervisor =
        new Supervisor(List.of(spec), launcher, outbox, time, TracerProvider.noop().get("t"));
    supervisor.startAll();
    Await.until(
        Duration.ofSeconds(5),
        "the agent to run",
        () -> supervisor.runner("a1").orElseThrow().runningPid(),
        pid -> pid > 0);
    outbox.drain(); // its start went into the outbox; the first FullState covers it
    AgentLogs logs = new AgentLogs(dir.resolve("logs"));
    HealthMonitor health =
        new HealthMonitor(
            supervisor, new ResourceMonitor(time.clock()), Duration.ofSeconds(5), time);
    LinkCommands commands =
        new LinkCommands(
            supervisor,
            new LocalQueries(supervisor, health, logs, time),
            new ConfigPusher(supervisor, time),
            TracerProvider.noop().get("t"),
            time.clock(),
            "n1");
    link =
        new LinkRunner(
            POLICY,
            Hello.newBuilder().setNodeId("n1").build(),
            source(channel),
            supervisor::snapshots,
            outbox,
            commands,
            Optional::empty,
            time,
            () -> 0.5);
    link.start();
  }

  @AfterEach
  void stop() throws Exception {
    link.close();
    supervisor.close(false);
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** The in-process channel as the link asks for it. */
  public static ChannelSource source(io.grpc.ManagedChannel channel) {
    return new ChannelSource() {
      @Override
      public io.grpc.Channel channel() {
        return channel;
      }

      @Override
      public void close() {
        channel.shutdownNow();
      }
    };
  }

  private ManagerSide nextStream() throws InterruptedException {
    ManagerSide s = streams.poll(5, TimeUnit.SECONDS);
    if (s == null) {
      throw new AssertionError("the daemon opened no stream within 5 s");
    }
    return s;
  }

  @Test
  void helloThenFullStateThenDeltasWithConsecutiveSequenceNumbers() throws Exception {
    ManagerSide s = nextStream();
    DaemonMessage hello = s.next();
    assertEquals(DaemonMessage.BodyCase.HELLO, hello.getBodyCase());
    assertEquals(1, hello.getSeq());
    assertEquals("n1", hello.getHello().getNodeId());
    DaemonMessage full = s.next();
    assertEquals(DaemonMessage.BodyCase.FULL_STATE, full.getBodyCase());
    assertEquals(2, full.getSeq());
    assertEquals("a1", full.getFullState().getAgents(0).getAgentId());
    assertEquals(Lifecycle.LIFECYCLE_RUNNING, full.getFullState().getAgents(0).getLifecycle());
    s.welcome(Duration.ofSeconds(10));

    launcher.last().exitWith(3);
    long seq = 2;
    Lifecycle last;
    do { // the exit and the restart wait may travel in one delta or two
      DaemonMessage d = s.next(DaemonMessage.BodyCase.DELTAS);
      assertEquals(++seq, d.getSeq(), "every message is the previous one plus 1");
      last = d.getDeltas().getDeltas(d.getDeltas().getDeltasCount() - 1).getState().getLifecycle();
    } while (last != Lifecycle.LIFECYCLE_RESTARTING);
    Await.until(
        Duration.ofSeconds(5),
        "the link to count as connected once welcomed",
        link::connected,
        c -> c);
  }

  /** Moves time to each timer the link arms in turn until {@code total} has passed. */
  private void advanceThroughTimers(Duration total) {
    Duration passed = Duration.ZERO;
    while (passed.compareTo(total) < 0) {
      time.awaitTimers(1);
      Duration step = time.nextTimerIn();
      if (passed.plus(step).compareTo(total) > 0) {
        step = total.minus(passed);
      }
      time.advance(step);
      passed = passed.plus(step);
    }
  }

  @Test
  void anIdleLinkPingsAtTheIntervalTheManagerSet() throws Exception {
    ManagerSide s = nextStream();
    s.next(DaemonMessage.BodyCase.FULL_STATE);
    s.welcome(Duration.ofSeconds(4));
    Await.until(Duration.ofSeconds(5), "the Welcome to be read", link::connected, c -> c);
    advanceThroughTimers(
        Duration.ofSeconds(4)); // four seconds after the FullState, the last message sent
    DaemonMessage first = s.next(DaemonMessage.BodyCase.PING);
    time.awaitTimers(1);
    assertEquals(
        Duration.ofSeconds(4), time.nextTimerIn(), "then every 4 s, the Welcome's interval");
    time.advance(Duration.ofSeconds(4));
    assertEquals(first.getSeq() + 1, s.next(DaemonMessage.BodyCase.PING).getSeq());
  }

  @Test
  void aSilentManagerIsDroppedAfterThreeIntervalsAndTheDaemonReconnectsAfterTheBackoff()
      throws Exception {
    ManagerSide s = nextStream();
    s.pong = false;
    s.next(DaemonMessage.BodyCase.FULL_STATE);
    s.welcome(Duration.ofSeconds(1));
    Await.until(Duration.ofSeconds(5), "the Welcome to be read", link::connected, c -> c);
    // Pings go out every second and are never answered.
    advanceThroughTimers(Duration.ofSeconds(3));
    assertTrue(link.connected(), "three silent seconds are not yet more than three intervals");
    assertFalse(s.ended.isDone());
    advanceThroughTimers(Duration.ofSeconds(1));
    assertFalse(s.ended.get(5, TimeUnit.SECONDS).isOk(), "the daemon ended the stream");
    Await.until(Duration.ofSeconds(5), "the link to be down", link::connected, c -> !c);

    // The backoff (first retry, jitter 0.5: half of the 1 s initial delay) waits on the manual
    // time.
    awaitBackoff(Duration.ofMillis(500));
    assertTrue(streams.isEmpty(), "no reconnect before the backoff");
    time.advance(Duration.ofMillis(500));
    ManagerSide again = nextStream();
    DaemonMessage hello = again.next();
    assertEquals(DaemonMessage.BodyCase.HELLO, hello.getBodyCase());
    assertEquals(1, hello.getSeq(), "sequence numbers start again on each stream");
    assertEquals(
        DaemonMessage.BodyCase.FULL_STATE,
        again.next().getBodyCase(),
        "the full state, so nothing is lost");
  }

  /** Waits until the only timer left is the link's backoff of {@code expected}. */
  private void awaitBackoff(Duration expected) {
    Await.until(
        Duration.ofSeconds(5),
        "a backoff of " + expected,
        () -> time.pendingTimers() == 1 ? time.nextTimerIn() : null,
        expected::equals);
  }

  @Test
  void aStreamTheManagerEndsIsReopenedWithBackoffThatGrowsUntilOneIsWelcomed() throws Exception {
    nextStream().out.onCompleted();
    awaitBackoff(Duration.ofMillis(500));
    assertTrue(streams.isEmpty(), "no reconnect before the backoff");
    time.advance(Duration.ofMillis(500));
    nextStream().out.onError(Status.UNAVAILABLE.asRuntimeException());
    awaitBackoff(Duration.ofSeconds(1)); // the second failure in a row waits twice as long
    time.advance(Duration.ofSeconds(1));
    assertEquals(DaemonMessage.BodyCase.HELLO, nextStream().next().getBodyCase());
  }

  @Test
  void aResyncRequestIsAnsweredWithTheFullState() throws Exception {
    ManagerSide s = nextStream();
    s.next(DaemonMessage.BodyCase.FULL_STATE);
    s.welcome(Duration.ofSeconds(10));
    s.out.onNext(
        ManagerMessage.newBuilder().setResync(ResyncRequest.newBuilder().setReason("gap")).build());
    DaemonMessage full = s.next(DaemonMessage.BodyCase.FULL_STATE);
    assertEquals(3, full.getSeq());
    assertEquals("a1", full.getFullState().getAgents(0).getAgentId());
  }

  private static ManagerMessage operate(String commandId, String agentId, AgentOperation op) {
    return ManagerMessage.newBuilder()
        .setCommand(
            Command.newBuilder()
                .setCommandId(commandId)
                .setOperate(OperateAgent.newBuilder().setAgentId(agentId).setOperation(op)))
        .build();
  }

  @Test
  void aCommandIsCarriedOutOnceEvenWhenTheManagerSendsItAgain() throws Exception {
    ManagerSide s = nextStream();
    s.next(DaemonMessage.BodyCase.FULL_STATE);
    s.welcome(Duration.ofSeconds(10));
    long before = launcher.last().pid;
    s.out.onNext(operate("c1", "a1", AgentOperation.AGENT_OPERATION_RESTART));
    CommandResult r = s.next(DaemonMessage.BodyCase.COMMAND_RESULT).getCommandResult();
    assertTrue(r.getSuccess(), r.getMessage());
    assertEquals("c1", r.getCommandId());
    long after = launcher.last().pid;
    assertEquals("restarted (pid " + before + " -> " + after + ")", r.getMessage());
    assertEquals(Lifecycle.LIFECYCLE_RUNNING, r.getAgent().getLifecycle());

    s.out.onNext(operate("c1", "a1", AgentOperation.AGENT_OPERATION_RESTART));
    CommandResult again = s.next(DaemonMessage.BodyCase.COMMAND_RESULT).getCommandResult();
    assertEquals(r, again, "the same answer");
    assertEquals(after, launcher.last().pid, "and no second restart");
  }

  @Test
  void aCommandForAnAgentThisDaemonDoesNotHaveIsNotFound() throws Exception {
    ManagerSide s = nextStream();
    s.next(DaemonMessage.BodyCase.FULL_STATE);
    s.out.onNext(operate("c2", "nope", AgentOperation.AGENT_OPERATION_STOP));
    CommandResult r = s.next(DaemonMessage.BodyCase.COMMAND_RESULT).getCommandResult();
    assertFalse(r.getSuccess());
    assertEquals(Status.Code.NOT_FOUND.value(), r.getErrorCode());
    assertEquals("agent 'nope' is not supervised by this daemon", r.getMessage());
  }
}
