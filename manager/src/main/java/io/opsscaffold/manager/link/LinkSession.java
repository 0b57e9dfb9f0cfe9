package io.opsscaffold.manager.link;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.util.Durations;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.link.v1.Ack;
import io.opsscaffold.api.link.v1.AgentDelta;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.Pong;
import io.opsscaffold.api.link.v1.ResyncRequest;
import io.opsscaffold.api.link.v1.Welcome;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.observability.TraceContextCarrier;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * One daemon's stream, from its Hello to its end. Owns the stream's state (node id, sequence
 * numbers, resync flag); gRPC calls {@link #onNext} serially on the transport's thread, and writes
 * to the daemon go through {@link #send}, which is synchronized because acks, commands and pongs
 * come from other threads.
 */
public final class LinkSession implements StreamObserver<DaemonMessage>, StateWriter.Acker {
  private static final Logger LOG = Logger.getLogger(LinkSession.class.getName());

  /** What a session needs from the manager; one instance shared by all sessions. */
  record Context(
      SessionRegistry registry,
      StateWriter writer,
      ConnectivityTracker connectivity,
      CommandResults results,
      Clock clock,
      Duration pingInterval) {}

  /** Where command results go, and who hears that a session ended. */
  public interface CommandResults {
    void completed(String nodeId, io.opsscaffold.api.link.v1.CommandResult result);

    /** Output lines for a FollowLogs command of this node. */
    void logChunk(String nodeId, io.opsscaffold.api.link.v1.LogChunk chunk);

    void sessionClosed(LinkSession session);
  }

  private final Context ctx;
  private final ServerCallStreamObserver<ManagerMessage> out;
  private final String sessionId = UUID.randomUUID().toString().substring(0, 8);
  private final AtomicBoolean ended = new AtomicBoolean();
  private volatile String nodeId;
  private volatile long lastReceivedMs;
  private volatile long connectedMs;
  private long lastSeq;
  private boolean awaitingFullState;

  LinkSession(Context ctx, ServerCallStreamObserver<ManagerMessage> out) {
    this.ctx = ctx;
    this.out = out;
    this.lastReceivedMs = ctx.clock().millis();
    out.setOnCancelHandler(() -> end("the daemon cancelled the stream"));
  }

  public String nodeId() {
    return nodeId;
  }

  public String sessionId() {
    return sessionId;
  }

  long lastReceivedMs() {
    return lastReceivedMs;
  }

  public long connectedMs() {
    return connectedMs;
  }

  @Override
  public void onNext(DaemonMessage msg) {
    lastReceivedMs = ctx.clock().millis();
    boolean gap = msg.getSeq() != lastSeq + 1;
    lastSeq = msg.getSeq();
    if (nodeId == null && msg.getBodyCase() != DaemonMessage.BodyCase.HELLO) {
      close(Status.FAILED_PRECONDITION.withDescription(
          "the first message on the link must be Hello (got " + msg.getBodyCase() + ")"));
      return;
    }
    switch (msg.getBodyCase()) {
      case HELLO -> hello(msg.getHello());
      case FULL_STATE -> fullState(msg);
      case DELTAS -> deltas(msg, gap);
      case COMMAND_RESULT -> ctx.results().completed(nodeId, msg.getCommandResult());
      case LOG_CHUNK -> ctx.results().logChunk(nodeId, msg.getLogChunk());
      case HOST_STATS -> ctx.writer().submit(new FleetWrite.NodeStats(nodeId, hostStatsJson(msg.getHostStats()),
          lastReceivedMs));
      case PING -> send(ManagerMessage.newBuilder()
          .setPong(Pong.newBuilder().setPingSentAt(msg.getPing().getSentAt())).build());
      case BODY_NOT_SET -> close(Status.INVALID_ARGUMENT.withDescription("empty DaemonMessage"));
    }
  }

  private void hello(Hello hello) {
    if (nodeId != null) {
      close(Status.FAILED_PRECONDITION.withDescription("Hello was sent twice on one stream"));
      return;
    }
    if (!LinkProtos.validId(hello.getNodeId())) {
      close(Status.INVALID_ARGUMENT.withDescription(
          "hello.node_id must be 1 to 128 characters of [A-Za-z0-9._-] (got '" + hello.getNodeId() + "')"));
      return;
    }
    nodeId = hello.getNodeId();
    connectedMs = ctx.clock().millis();
    ctx.registry().register(this).ifPresent(old -> {
      LOG.info(() -> "node " + nodeId + " opened a new stream; closing session " + old.sessionId());
      old.close(Status.ABORTED.withDescription("replaced by a newer stream from the same node"));
    });
    send(ManagerMessage.newBuilder()
        .setWelcome(Welcome.newBuilder()
            .setSessionId(sessionId)
            .setPingInterval(Durations.fromMillis(ctx.pingInterval().toMillis())))
        .build());
    ctx.writer().submit(new FleetWrite.NodeConnected(LinkProtos.node(hello, sessionId, connectedMs)));
    LOG.info(() -> "node " + nodeId + " connected (session " + sessionId + ", daemon "
        + hello.getDaemonVersion() + ", host " + hello.getHostname() + ")");
  }

  private void fullState(DaemonMessage msg) {
    long now = ctx.clock().millis();
    List<AgentRecord> agents = new ArrayList<>();
    for (AgentState s : msg.getFullState().getAgentsList()) {
      if (!validAgent(s)) {
        return;
      }
      agents.add(LinkProtos.agent(nodeId, s, now));
    }
    awaitingFullState = false;
    ctx.writer().submit(new FleetWrite.ReplaceAgents(nodeId, agents), this, msg.getSeq(),
        msg.getTraceContext().isEmpty() ? List.of() : List.of(msg.getTraceContext()));
  }

  private void deltas(DaemonMessage msg, boolean gap) {
    if (gap && !awaitingFullState) {
      awaitingFullState = true;
      LOG.warning(() -> "node " + nodeId + ": sequence gap at " + msg.getSeq() + "; asking for full state");
      send(ManagerMessage.newBuilder()
          .setResync(ResyncRequest.newBuilder().setReason("sequence gap at " + msg.getSeq()))
          .build());
    }
    if (awaitingFullState) {
      return; // superseded by the full state the daemon will send
    }
    long now = ctx.clock().millis();
    List<AgentRecord> upserts = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    List<ByteString> traces = new ArrayList<>();
    for (AgentDelta d : msg.getDeltas().getDeltasList()) {
      if (!validAgent(d.getState())) {
        return;
      }
      if (d.getRemoved()) {
        removed.add(d.getState().getAgentId());
      } else {
        upserts.add(LinkProtos.agent(nodeId, d.getState(), now));
      }
      if (!d.getTraceContext().isEmpty()) {
        traces.add(d.getTraceContext());
      }
    }
    if (traces.isEmpty() && !msg.getTraceContext().isEmpty()) {
      traces.add(msg.getTraceContext());
    }
    if (!removed.isEmpty()) {
      ctx.writer().submit(new FleetWrite.RemoveAgents(nodeId, removed), this, msg.getSeq(), List.of());
    }
    ctx.writer().submit(new FleetWrite.UpsertAgents(upserts), this, msg.getSeq(), traces);
  }

  private static String hostStatsJson(io.opsscaffold.api.status.v1.HostStats stats) {
    try {
      return com.google.protobuf.util.JsonFormat.printer().omittingInsignificantWhitespace().print(stats);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "";
    }
  }

  private boolean validAgent(AgentState s) {
    if (!LinkProtos.validId(s.getAgentId())) {
      close(Status.INVALID_ARGUMENT.withDescription(
          "agent_id must be 1 to 128 characters of [A-Za-z0-9._-] (got '" + s.getAgentId() + "')"));
      return false;
    }
    return true;
  }

  @Override
  public void ack(long seq) {
    send(ManagerMessage.newBuilder().setAck(Ack.newBuilder().setSeq(seq)).build());
  }

  /** Sends a message to the daemon; false when the stream is gone. Thread-safe. */
  public boolean send(ManagerMessage message) {
    synchronized (out) {
      if (ended.get()) {
        return false;
      }
      try {
        out.onNext(message);
        return true;
      } catch (RuntimeException e) {
        LOG.fine(() -> "send to node " + nodeId + " failed: " + e);
      }
    }
    end("sending failed");
    return false;
  }

  /** Sends a message carrying the current trace context. */
  public boolean sendTraced(ManagerMessage.Builder message) {
    byte[] trace = TraceContextCarrier.binary(io.opentelemetry.context.Context.current());
    if (trace != null) {
      message.setTraceContext(UnsafeByteOperations.unsafeWrap(trace));
    }
    return send(message.build());
  }

  /** Ends the stream with {@code status} (the daemon sees it) and forgets the session. */
  void close(Status status) {
    synchronized (out) {
      if (!ended.get()) {
        try {
          out.onError(status.asRuntimeException());
        } catch (RuntimeException e) {
          // already closed by the transport
        }
      }
    }
    end(status.getDescription());
  }

  @Override
  public void onError(Throwable t) {
    end("stream error: " + Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    synchronized (out) {
      if (!ended.get()) {
        try {
          out.onCompleted();
        } catch (RuntimeException e) {
          // already closed
        }
      }
    }
    end("the daemon closed the stream");
  }

  private void end(String why) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    ctx.results().sessionClosed(this);
    if (nodeId != null && ctx.registry().unregister(this)) {
      long now = ctx.clock().millis();
      ctx.writer().submit(new FleetWrite.NodeDisconnected(nodeId, sessionId, now));
      ctx.connectivity().sessionEnded(nodeId);
      LOG.info(() -> "node " + nodeId + " disconnected (session " + sessionId + "): " + why);
    }
  }
}
