package io.opsscaffold.manager.link;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.link.v1.AgentDelta;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Deltas;
import io.opsscaffold.api.link.v1.FullState;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.Ping;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** The daemon's end of one link stream, driven by a test. */
public final class FakeDaemon implements StreamObserver<ManagerMessage> {
  public final BlockingQueue<ManagerMessage> received = new LinkedBlockingQueue<>();
  public final CompletableFuture<Status> ended = new CompletableFuture<>();
  public final StreamObserver<DaemonMessage> out;
  public final String nodeId;
  public long seq;

  public FakeDaemon(io.grpc.Channel channel, String nodeId) {
    this(channel, Hello.newBuilder().setNodeId(nodeId).setHostname("h-" + nodeId));
  }

  /** A daemon that will say {@code hello} (with its own address and labels). */
  public FakeDaemon(io.grpc.Channel channel, Hello.Builder hello) {
    this.nodeId = hello.getNodeId();
    this.helloMessage = hello;
    this.out = DaemonLinkServiceGrpc.newStub(channel).connect(this);
  }

  private final Hello.Builder helloMessage;

  /** Pings every 100 ms until the stream ends, as a live daemon does. */
  public FakeDaemon keepAlive() {
    var pinger = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    pinger.scheduleAtFixedRate(
        () -> send(DaemonMessage.newBuilder().setPing(Ping.getDefaultInstance())),
        0,
        100,
        TimeUnit.MILLISECONDS);
    ended.whenComplete((s, e) -> pinger.shutdownNow());
    return this;
  }

  public FakeDaemon hello() throws InterruptedException {
    send(DaemonMessage.newBuilder().setHello(helloMessage));
    ManagerMessage welcome = next();
    assertEquals(ManagerMessage.BodyCase.WELCOME, welcome.getBodyCase(), welcome.toString());
    return this;
  }

  public synchronized long send(DaemonMessage.Builder m) {
    if (ended.isDone()) {
      return seq;
    }
    out.onNext(m.setSeq(++seq).build());
    return seq;
  }

  public long fullState(AgentState... agents) {
    FullState.Builder b = FullState.newBuilder();
    for (AgentState a : agents) {
      b.addAgents(a);
    }
    return send(DaemonMessage.newBuilder().setFullState(b));
  }

  public long delta(AgentState state) {
    return send(
        DaemonMessage.newBuilder()
            .setDeltas(Deltas.newBuilder().addDeltas(AgentDelta.newBuilder().setState(state))));
  }

  public ManagerMessage next() throws InterruptedException {
    ManagerMessage m = received.poll(5, TimeUnit.SECONDS);
    if (m == null) {
      throw new AssertionError("the manager sent nothing within 5 s");
    }
    return m;
  }

  /** The next message of {@code kind}, skipping pongs and others. */
  public ManagerMessage next(ManagerMessage.BodyCase kind) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      ManagerMessage m = received.poll(50, TimeUnit.MILLISECONDS);
      if (m != null && m.getBodyCase() == kind) {
        return m;
      }
    }
    throw new AssertionError("no " + kind + " from the manager within 5 s");
  }

  private volatile java.util.function.Function<
          io.opsscaffold.api.link.v1.Command, io.opsscaffold.api.link.v1.CommandResult>
      answerer;

  /** Answers every command from now on with {@code answer}, as a daemon that does its job. */
  public FakeDaemon answerCommands(
      java.util.function.Function<
              io.opsscaffold.api.link.v1.Command, io.opsscaffold.api.link.v1.CommandResult>
          answer) {
    this.answerer = answer;
    return this;
  }

  /** The link trace context (trace id, span id, flags) of each command answered, in order. */
  public final java.util.List<com.google.protobuf.ByteString> answeredTraces =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  @Override
  public void onNext(ManagerMessage value) {
    var a = answerer;
    if (a != null && value.getBodyCase() == ManagerMessage.BodyCase.COMMAND) {
      answeredTraces.add(value.getTraceContext());
      send(DaemonMessage.newBuilder().setCommandResult(a.apply(value.getCommand())));
      return;
    }
    received.add(value);
  }

  @Override
  public void onError(Throwable t) {
    ended.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    ended.complete(Status.OK);
  }
}
