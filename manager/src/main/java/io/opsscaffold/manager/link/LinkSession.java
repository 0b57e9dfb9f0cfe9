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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * One daemon's stream, from its Hello to its end. Owns the stream's state (node id, sequence
 * numbers, resync flag); gRPC calls {@link #onNext} serially on the transport's thread. Writes to
 * the daemon (acks from the StateWriter, commands from API calls, pongs, the stream's end) never
 * block their caller: they are queued and written by the session's own sender, so a daemon that
 * stops reading holds up nobody else.
 */
public final class LinkSession
    implements StreamObserver<DaemonMessage>, StateWriter.Acker, CommandChannel {
  private static final Logger LOG = Logger.getLogger(LinkSession.class.getName());

  /** Messages that may wait for a daemon that does not read before its stream is ended. */
  static final int MAX_UNSENT = 1_000;

  /** What a session needs from the manager; one instance shared by all sessions. */
  record Context(
      SessionRegistry registry,
      StateWriter writer,
      ConnectivityTracker connectivity,
      CommandResults results,
      Clock clock,
      Duration pingInterval,
      NodeAuthenticator authenticator) {}

  /** Where command results go, and who hears that a session ended. */
  public interface CommandResults {
    void completed(String nodeId, io.opsscaffold.api.link.v1.CommandResult result);

    /** Output lines for a FollowLogs command of this node. */
    void logChunk(String nodeId, io.opsscaffold.api.link.v1.LogChunk chunk);

    /** The stream ended: commands and follows waiting on it end too. */
    void sessionClosed(CommandChannel session);
  }

  private final Context ctx;
  private final ServerCallStreamObserver<ManagerMessage> out;
  private final java.util.List<java.security.cert.X509Certificate> peer;
  private final String remote;
  private final String sessionId = UUID.randomUUID().toString().substring(0, 8);
  private final AtomicBoolean ended = new AtomicBoolean();
  // The sender's state (see flush): what waits, the highest seq to acknowledge, how the stream
  // ends.
  private final ConcurrentLinkedQueue<ManagerMessage> outbox = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicLong ackWanted = new AtomicLong();
  private final AtomicReference<Status> closing = new AtomicReference<>();
  private final AtomicBoolean sending = new AtomicBoolean();
  private volatile long ackSent; // written by the sender only
  private volatile boolean outClosed; // likewise
  private volatile String nodeId;
  private volatile long lastReceivedMs;
  private volatile long connectedMs;
  private long lastSeq;
  private boolean awaitingFullState;

  /**
   * @param peer the client certificate chain the connection presented (empty: none)
   * @param remote the peer's address, for the log
   */
  LinkSession(
      Context ctx,
      ServerCallStreamObserver<ManagerMessage> out,
      java.util.List<java.security.cert.X509Certificate> peer,
      String remote) {
    this.ctx = ctx;
    this.out = out;
    this.peer = java.util.List.copyOf(peer);
    this.remote = remote;
    this.lastReceivedMs = ctx.clock().millis();
    out.setOnCancelHandler(() -> end("the daemon cancelled the stream"));
  }

  @Override
  public String nodeId() {
    return nodeId;
  }

  public String sessionId() {
    return sessionId;
  }

  /**
   * Probes the connection with a message that needs no answer: a daemon that died has a closed
   * connection, the write fails, and the session ends at once, instead of after three silent ping
   * intervals. Never blocks (the session's sender writes it).
   */
  void probe() {
    if (nodeId != null && !ended.get()) {
      send(
          ManagerMessage.newBuilder()
              .setProbe(io.opsscaffold.api.link.v1.Ping.newBuilder())
              .build());
    }
  }

  long lastReceivedMs() {
    return lastReceivedMs;
  }

  public long connectedMs() {
    return connectedMs;
  }

  @Override
  public void onNext(DaemonMessage msg) {
    if (ended.get()) {
      return; // closed: what the daemon sent after that is not read
    }
    lastReceivedMs = ctx.clock().millis();
    boolean gap = msg.getSeq() != lastSeq + 1;
    lastSeq = msg.getSeq();
    if (nodeId == null && msg.getBodyCase() != DaemonMessage.BodyCase.HELLO) {
      close(
          Status.FAILED_PRECONDITION.withDescription(
              "the first message on the link must be Hello (got " + msg.getBodyCase() + ")"));
      return;
    }
    switch (msg.getBodyCase()) {
      case HELLO -> hello(msg.getHello());
      case FULL_STATE -> fullState(msg);
      case DELTAS -> deltas(msg, gap);
      case COMMAND_RESULT -> ctx.results().completed(nodeId, msg.getCommandResult());
      case LOG_CHUNK -> ctx.results().logChunk(nodeId, msg.getLogChunk());
      case RENEW_CERTIFICATE -> renew(msg.getRenewCertificate().getCsrPem());
      case HOST_STATS ->
          ctx.writer()
              .submit(
                  new FleetWrite.NodeStats(
                      nodeId, hostStatsJson(msg.getHostStats()), lastReceivedMs));
      case PING ->
          send(
              ManagerMessage.newBuilder()
                  .setPong(Pong.newBuilder().setPingSentAt(msg.getPing().getSentAt()))
                  .build());
      case BODY_NOT_SET -> close(Status.INVALID_ARGUMENT.withDescription("empty DaemonMessage"));
    }
  }

  /** {@code hello} with the labels the node's enrollment imposes. */
  private static Hello impose(Hello hello, NodeAuthenticator.Imposed imposed) {
    if (imposed.equals(NodeAuthenticator.Imposed.NOTHING)) {
      return hello;
    }
    var labels = hello.getLabels().toBuilder();
    if (!imposed.area().isEmpty()) {
      labels.setArea(imposed.area());
    }
    if (!imposed.zone().isEmpty()) {
      labels.setZone(imposed.zone());
    }
    if (!imposed.business().isEmpty()) {
      labels.setBusiness(imposed.business());
    }
    return hello.toBuilder().setLabels(labels).build();
  }

  private void renew(String csrPem) {
    var answer = io.opsscaffold.api.link.v1.NodeCertificate.newBuilder();
    try {
      answer.setCertificatePem(ctx.authenticator().renew(nodeId, csrPem));
    } catch (NodeAuthenticator.Refused r) {
      LOG.warning(() -> "node " + nodeId + " could not renew its certificate: " + r.getMessage());
      answer.setError(r.getMessage());
    }
    send(ManagerMessage.newBuilder().setCertificate(answer).build());
  }

  private void hello(Hello hello) {
    if (nodeId != null) {
      close(Status.FAILED_PRECONDITION.withDescription("Hello was sent twice on one stream"));
      return;
    }
    if (!LinkProtos.validId(hello.getNodeId())) {
      close(
          Status.INVALID_ARGUMENT.withDescription(
              "hello.node_id must be 1 to 128 characters of [A-Za-z0-9._-] (got '"
                  + hello.getNodeId()
                  + "')"));
      return;
    }
    NodeAuthenticator.Imposed imposed;
    try {
      imposed = ctx.authenticator().admit(hello.getNodeId(), peer);
    } catch (NodeAuthenticator.Refused r) {
      LOG.warning(
          () ->
              "refused a stream for node "
                  + hello.getNodeId()
                  + " from "
                  + remote
                  + ": "
                  + r.getMessage());
      close(
          (r.unavailable() ? Status.UNAVAILABLE : Status.PERMISSION_DENIED)
              .withDescription(r.getMessage()));
      return;
    }
    Hello admitted = impose(hello, imposed);
    nodeId = hello.getNodeId();
    connectedMs = ctx.clock().millis();
    ctx.registry()
        .register(this)
        .ifPresent(
            old -> {
              LOG.info(
                  () ->
                      "node "
                          + nodeId
                          + " opened a new stream; closing session "
                          + old.sessionId());
              old.close(
                  Status.ABORTED.withDescription("replaced by a newer stream from the same node"));
            });
    send(
        ManagerMessage.newBuilder()
            .setWelcome(
                Welcome.newBuilder()
                    .setSessionId(sessionId)
                    .setPingInterval(Durations.fromMillis(ctx.pingInterval().toMillis())))
            .build());
    ctx.writer()
        .submit(new FleetWrite.NodeConnected(LinkProtos.node(admitted, sessionId, connectedMs)));
    LOG.info(
        () ->
            "node "
                + nodeId
                + " connected (session "
                + sessionId
                + ", daemon "
                + hello.getDaemonVersion()
                + ", host "
                + hello.getHostname()
                + ")");
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
    ctx.writer()
        .submit(
            new FleetWrite.ReplaceAgents(nodeId, agents),
            this,
            msg.getSeq(),
            msg.getTraceContext().isEmpty() ? List.of() : List.of(msg.getTraceContext()));
  }

  private void deltas(DaemonMessage msg, boolean gap) {
    if (gap && !awaitingFullState) {
      awaitingFullState = true;
      LOG.warning(
          () -> "node " + nodeId + ": sequence gap at " + msg.getSeq() + "; asking for full state");
      send(
          ManagerMessage.newBuilder()
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
      ctx.writer()
          .submit(new FleetWrite.RemoveAgents(nodeId, removed), this, msg.getSeq(), List.of());
    }
    ctx.writer().submit(new FleetWrite.UpsertAgents(upserts), this, msg.getSeq(), traces);
  }

  private static String hostStatsJson(io.opsscaffold.api.status.v1.HostStats stats) {
    try {
      return com.google.protobuf.util.JsonFormat.printer()
          .omittingInsignificantWhitespace()
          .print(stats);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "";
    }
  }

  private boolean validAgent(AgentState s) {
    if (!LinkProtos.validId(s.getAgentId())) {
      close(
          Status.INVALID_ARGUMENT.withDescription(
              "agent_id must be 1 to 128 characters of [A-Za-z0-9._-] (got '"
                  + s.getAgentId()
                  + "')"));
      return false;
    }
    return true;
  }

  /**
   * Acknowledges {@code seq} and every message before it. Never blocks: the StateWriter calls it
   * for every session of a batch, so one daemon that does not read its stream must not hold it.
   */
  @Override
  public void ack(long seq) {
    if (ended.get()) {
      return;
    }
    ackWanted.accumulateAndGet(seq, Math::max);
    flush();
  }

  /**
   * Queues a message to the daemon; false when the stream is gone. Thread-safe and never blocks:
   * messages are written in order by this session's sender (see {@link #flush}).
   */
  public boolean send(ManagerMessage message) {
    if (ended.get()) {
      return false;
    }
    if (queued.incrementAndGet() > MAX_UNSENT) {
      queued.decrementAndGet();
      close(
          Status.RESOURCE_EXHAUSTED.withDescription(
              "the daemon has not read its last " + MAX_UNSENT + " messages from the manager"));
      return false;
    }
    outbox.add(message);
    flush();
    return true;
  }

  /** Sends a message carrying the current trace context. */
  @Override
  public boolean sendTraced(ManagerMessage.Builder message) {
    byte[] trace = TraceContextCarrier.binary(io.opentelemetry.context.Context.current());
    if (trace != null) {
      message.setTraceContext(UnsafeByteOperations.unsafeWrap(trace));
    }
    return send(message.build());
  }

  /**
   * Ends the stream with {@code status} (the daemon sees it once what was queued before it is
   * written) and forgets the session at once, even when the daemon is not reading.
   */
  void close(Status status) {
    closing.compareAndSet(null, status);
    flush();
    end(status.getDescription());
  }

  @Override
  public void onError(Throwable t) {
    end("stream error: " + Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    closing.compareAndSet(null, Status.OK);
    flush();
    end("the daemon closed the stream");
  }

  /**
   * Starts the sender unless it runs. The sender is a virtual thread that writes what is queued,
   * then the latest acknowledgement, then the end of the stream, and exits when nothing is left; a
   * write that blocks (the daemon stopped reading and HTTP/2 flow control holds the stream) blocks
   * only it. Starting one per burst costs nothing while a stream is quiet.
   */
  private void flush() {
    if (sending.compareAndSet(false, true)) {
      Thread.ofVirtual().name("link-send").start(this::drain);
    }
  }

  private void drain() {
    do {
      try {
        for (ManagerMessage m; (m = outbox.poll()) != null; ) {
          queued.decrementAndGet();
          write(m);
        }
        long ack = ackWanted.get();
        if (ack > ackSent) {
          ackSent = ack;
          write(ManagerMessage.newBuilder().setAck(Ack.newBuilder().setSeq(ack)).build());
        }
        Status c = closing.get();
        if (c != null && !outClosed) {
          outClosed = true;
          try {
            if (c.isOk()) {
              out.onCompleted();
            } else {
              out.onError(c.asRuntimeException());
            }
          } catch (RuntimeException e) {
            // already closed by the transport
          }
        }
      } finally {
        sending.set(false);
      }
    } while (unsent() && sending.compareAndSet(false, true));
  }

  private boolean unsent() {
    return !outClosed && (!outbox.isEmpty() || ackWanted.get() > ackSent || closing.get() != null);
  }

  private void write(ManagerMessage m) {
    if (outClosed) {
      return;
    }
    try {
      out.onNext(m);
    } catch (RuntimeException e) {
      outClosed = true;
      LOG.fine(() -> "send to node " + nodeId + " failed: " + e);
      end("sending failed");
    }
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
