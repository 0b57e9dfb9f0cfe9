package io.opsscaffold.daemon.link;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opsscaffold.api.link.v1.AgentDelta;
import io.opsscaffold.api.link.v1.AgentOperation;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Deltas;
import io.opsscaffold.api.link.v1.FullState;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.LogChunk;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.Ping;
import io.opsscaffold.daemon.config.ConfigPusher;
import io.opsscaffold.daemon.logs.LogFollower;
import io.opsscaffold.daemon.supervision.AgentRunner;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Owns the daemon's one stream to the manager: connects, says Hello, sends FullState, then Deltas
 * from the {@link Outbox} and Pings while idle; carries out Commands and answers with results.
 * When the stream ends it reconnects forever with jittered exponential backoff; supervision never
 * depends on the link, and each connect starts again from the full state, so nothing is lost.
 *
 * <p>One loop thread owns the connection; gRPC's callback thread handles incoming messages;
 * writes to the stream are serialized by a lock.
 */
public final class LinkRunner implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(LinkRunner.class.getName());
  private static final long STABLE_MS = 10_000;

  private final LinkPolicy policy;
  private final Hello hello;
  private final Supervisor supervisor;
  private final Outbox outbox;
  private final Tracer tracer;
  private final Clock clock;
  private final Time time;
  private final Backoff backoff;
  private final java.util.function.Supplier<Optional<io.opsscaffold.api.status.v1.HostStats>> hostStats;
  private final io.opsscaffold.daemon.api.LocalQueries reads;
  private final ConfigPusher pusher;
  private final ManagedChannel channel;
  private final Thread loop;
  private volatile boolean running = true;
  private volatile Connection current;
  private final Map<String, CommandResult> recentResults =
      new LinkedHashMap<>(64, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, CommandResult> eldest) {
          return size() > 256;
        }
      };

  /**
   * @param reads answers the manager's log and metrics commands (the local API's own code); null
   *     answers them UNIMPLEMENTED
   * @param pusher carries out config pushes; null answers them UNIMPLEMENTED
   * @param time reconnect delays wait on it
   * @param random the reconnect jitter's source, uniform in [0, 1)
   * @param hostStats the host's latest measurements, sent every stats interval
   */
  public LinkRunner(LinkPolicy policy, Hello hello, Supervisor supervisor, Outbox outbox, Tracer tracer,
      Time time, java.util.function.DoubleSupplier random,
      java.util.function.Supplier<Optional<io.opsscaffold.api.status.v1.HostStats>> hostStats,
      io.opsscaffold.daemon.api.LocalQueries reads, ConfigPusher pusher) {
    this.pusher = pusher;
    this.reads = reads;
    this.hostStats = hostStats;
    this.policy = policy;
    this.hello = hello;
    this.supervisor = supervisor;
    this.outbox = outbox;
    this.tracer = tracer;
    this.time = time;
    this.clock = time.clock();
    this.backoff = new Backoff(policy.reconnectInitial(), policy.reconnectMax(), random);
    this.channel =
        OkHttpChannelBuilder.forTarget(policy.address())
            .usePlaintext()
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS)
            .build();
    this.loop = Thread.ofPlatform().name("link").daemon(true).unstarted(this::run);
  }

  public void start() {
    loop.start();
  }

  /** Whether a stream is up and the manager has welcomed it. */
  public boolean connected() {
    Connection c = current;
    return c != null && c.welcomed && !c.ended.isDone();
  }

  private void run() {
    int failures = 0;
    while (running) {
      Connection c = new Connection();
      current = c;
      long began = clock.millis();
      String why;
      try {
        why = c.serve();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        why = e.toString();
        LOG.log(Level.WARNING, "link failed", e);
      }
      if (!running) {
        return;
      }
      failures = c.welcomed && clock.millis() - began > STABLE_MS ? 1 : failures + 1;
      Duration delay = backoff.delay(failures);
      String reason = why;
      int attempt = failures;
      LOG.warning(() -> "link to manager " + policy.address() + " is down (" + reason + "); retry "
          + attempt + " in " + delay.toMillis() + " ms");
      try {
        time.sleep(delay);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** One stream, from connect to its end. */
  private final class Connection implements StreamObserver<ManagerMessage> {
    private final CompletableFuture<Status> ended = new CompletableFuture<>();
    private final AtomicBoolean resync = new AtomicBoolean();
    private final Object sendLock = new Object();
    private StreamObserver<DaemonMessage> requests;
    private long seq;
    private volatile boolean welcomed;
    private volatile long pingIntervalMs = policy.pingInterval().toMillis();
    private volatile long lastReceivedMs = clock.millis();
    private volatile long lastSentMs;
    private long lastStatsMs;
    private final Map<String, LogFollower> followers = new java.util.concurrent.ConcurrentHashMap<>();

    /** Runs the stream until it ends; returns why it ended. */
    String serve() throws InterruptedException {
      try {
        return serveUntilEnd();
      } finally {
        followers.values().forEach(LogFollower::close);
        followers.clear();
      }
    }

    private String serveUntilEnd() throws InterruptedException {
      requests = DaemonLinkServiceGrpc.newStub(channel).connect(this);
      send(DaemonMessage.newBuilder().setHello(hello));
      outbox.drain(); // the full state below covers everything pending
      sendFullState();
      while (running && !ended.isDone()) {
        long now = clock.millis();
        long untilPing = Math.max(1, Math.min(pingIntervalMs - (now - lastSentMs),
            policy.statsInterval().toMillis() - (now - lastStatsMs)));
        List<Outbox.Change> changes = outbox.awaitAndDrain(untilPing, policy.coalesce().toMillis());
        if (ended.isDone()) {
          break;
        }
        if (resync.getAndSet(false)) {
          outbox.drain();
          sendFullState();
        } else if (!changes.isEmpty()) {
          sendDeltas(changes);
        }
        now = clock.millis();
        if (now - lastStatsMs >= policy.statsInterval().toMillis()) {
          lastStatsMs = now;
          hostStats.get().ifPresent(h -> send(DaemonMessage.newBuilder().setHostStats(h)));
        }
        if (now - lastSentMs >= pingIntervalMs) {
          send(DaemonMessage.newBuilder().setPing(Ping.newBuilder().setSentAt(Timestamps.fromMillis(now))));
        }
        if (now - lastReceivedMs > 3 * pingIntervalMs) {
          String why = "nothing from the manager for " + (now - lastReceivedMs) + " ms";
          requests.onError(Status.UNAVAILABLE.withDescription(why).asRuntimeException());
          return why;
        }
      }
      if (!ended.isDone()) {
        synchronized (sendLock) {
          requests.onCompleted();
        }
        return "daemon shutting down";
      }
      Status status = ended.getNow(Status.UNKNOWN);
      return status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
    }

    private void sendFullState() {
      FullState.Builder full = FullState.newBuilder();
      for (AgentSnapshot s : supervisor.snapshots()) {
        full.addAgents(LinkProtos.state(s));
      }
      send(DaemonMessage.newBuilder().setFullState(full));
    }

    private void sendDeltas(List<Outbox.Change> changes) {
      Deltas.Builder deltas = Deltas.newBuilder();
      for (Outbox.Change c : changes) {
        deltas.addDeltas(AgentDelta.newBuilder()
            .setState(LinkProtos.state(c.snapshot()))
            .setRemoved(c.removed())
            .setObservedAt(Timestamps.fromMillis(c.observedAt().toEpochMilli()))
            .setTraceContext(LinkProtos.traceContext(c.cause())));
      }
      send(DaemonMessage.newBuilder().setDeltas(deltas));
    }

    boolean send(DaemonMessage.Builder message) {
      synchronized (sendLock) {
        if (ended.isDone()) {
          return false;
        }
        try {
          requests.onNext(message.setSeq(++seq).build());
          lastSentMs = clock.millis();
          return true;
        } catch (RuntimeException e) {
          ended.complete(Status.fromThrowable(e));
          return false;
        }
      }
    }

    @Override
    public void onNext(ManagerMessage msg) {
      lastReceivedMs = clock.millis();
      switch (msg.getBodyCase()) {
        case WELCOME -> {
          welcomed = true;
          if (msg.getWelcome().hasPingInterval()) {
            pingIntervalMs = Math.max(100, Durations.toMillis(msg.getWelcome().getPingInterval()));
          }
          LOG.info(() -> "connected to manager " + policy.address() + " (session "
              + msg.getWelcome().getSessionId() + ")");
        }
        case COMMAND -> command(msg.getCommand(), LinkProtos.context(msg.getTraceContext()));
        case RESYNC -> {
          LOG.info(() -> "manager asked for full state: " + msg.getResync().getReason());
          resync.set(true);
          outbox.wake();
        }
        case ACK, PONG, BODY_NOT_SET -> { }
      }
    }

    @Override
    public void onError(Throwable t) {
      ended.complete(Status.fromThrowable(t));
      outbox.wake();
    }

    @Override
    public void onCompleted() {
      ended.complete(Status.UNAVAILABLE.withDescription("the manager closed the stream"));
      outbox.wake();
    }

    private void command(Command command, Context parent) {
      Span span = tracer.spanBuilder("daemon operate agent")
          .setParent(parent)
          .setSpanKind(SpanKind.CONSUMER)
          .setAttribute("ops.command.id", command.getCommandId())
          .setAttribute("ops.node.id", hello.getNodeId())
          .startSpan();
      Context ctx = parent.with(span);
      CommandResult cached;
      synchronized (recentResults) {
        cached = recentResults.get(command.getCommandId());
      }
      if (cached != null) {
        reply(cached, ctx, span);
        return;
      }
      if (command.hasDeadline() && Timestamps.toMillis(command.getDeadline()) < clock.millis()) {
        reply(failure(command, Status.Code.DEADLINE_EXCEEDED, "the command arrived after its deadline"), ctx, span);
        return;
      }
      switch (command.getActionCase()) {
        case READ_LOGS, READ_METRICS -> {
          if (reads != null) {
            reply(read(command), ctx, span);
            return;
          }
        }
        case FOLLOW_LOGS -> {
          if (reads != null) {
            follow(command, ctx, span);
            return;
          }
        }
        case CANCEL -> {
          LogFollower f = followers.remove(command.getCancel().getCommandId());
          if (f != null) {
            f.close();
          }
          reply(CommandResult.newBuilder().setCommandId(command.getCommandId()).setSuccess(true)
              .setMessage(f == null ? "nothing to cancel" : "cancelled").build(), ctx, span);
          return;
        }
        case PUSH_CONFIG -> {
          if (pusher != null) {
            span.setAttribute("ops.agent.id", command.getPushConfig().getAgentId());
            span.setAttribute("ops.operation", "push-config");
            Thread.ofVirtual().name("push-config-" + command.getPushConfig().getAgentId())
                .start(() -> reply(pushConfig(command, ctx), ctx, span));
            return;
          }
        }
        default -> { }
      }
      if (command.getActionCase() != Command.ActionCase.OPERATE) {
        reply(failure(command, Status.Code.UNIMPLEMENTED, "this daemon does not know " + command.getActionCase()), ctx, span);
        return;
      }
      String agentId = command.getOperate().getAgentId();
      AgentOperation op = command.getOperate().getOperation();
      span.setAttribute("ops.agent.id", agentId);
      span.setAttribute("ops.operation", op.name());
      Optional<AgentRunner> runner = supervisor.runner(agentId);
      if (runner.isEmpty()) {
        reply(failure(command, Status.Code.NOT_FOUND, "agent '" + agentId + "' is not supervised by this daemon"), ctx, span);
        return;
      }
      CompletableFuture<AgentSnapshot> done =
          switch (op) {
            case AGENT_OPERATION_START -> runner.get().start(ctx);
            case AGENT_OPERATION_STOP -> runner.get().stop(ctx);
            case AGENT_OPERATION_RESTART -> runner.get().restart(ctx);
            default -> CompletableFuture.failedFuture(new IllegalArgumentException("unknown operation " + op));
          };
      done.whenComplete((snapshot, error) -> {
        CommandResult result = error != null
            ? failure(command, Status.Code.INTERNAL, String.valueOf(error.getMessage()))
            : CommandResult.newBuilder()
                .setCommandId(command.getCommandId())
                .setSuccess(true)
                .setMessage(snapshot.message())
                .setAgent(LinkProtos.state(snapshot))
                .build();
        reply(result, ctx, span);
      });
    }

    private void reply(CommandResult result, Context ctx, Span span) {
      synchronized (recentResults) {
        recentResults.put(result.getCommandId(), result);
      }
      if (!result.getSuccess()) {
        span.setStatus(StatusCode.ERROR, result.getMessage());
      }
      send(DaemonMessage.newBuilder().setCommandResult(result).setTraceContext(LinkProtos.traceContext(ctx)));
      span.end();
    }

    private CommandResult pushConfig(Command command, Context ctx) {
      var push = command.getPushConfig();
      ConfigPusher.Result r = pusher.push(push.getAgentId(), push.getFilesList().stream()
          .map(f -> new ConfigPusher.File(f.getName(), f.getContent().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
          .toList(), ctx);
      CommandResult.Builder b = CommandResult.newBuilder().setCommandId(command.getCommandId())
          .setSuccess(r.applied()).setMessage(r.message()).setConfigOutcome(r.outcome()).setConfigHash(r.hash());
      if (!r.applied()) {
        b.setErrorCode(r.code().value());
      }
      supervisor.runner(push.getAgentId()).ifPresent(runner -> b.setAgent(LinkProtos.state(runner.snapshot())));
      return b.build();
    }

    /**
     * Starts following an agent's output: an empty first chunk says it started, then the last
     * {@code lines} lines and every new one, until cancelled or the stream ends.
     */
    private void follow(Command command, Context ctx, Span span) {
      var f = command.getFollowLogs();
      String id = command.getCommandId();
      LogFollower follower;
      try {
        follower = reads.follower(f.getAgentId(), f.getLines(), line -> {
          if (!send(DaemonMessage.newBuilder().setLogChunk(LogChunk.newBuilder().setCommandId(id).addLines(line)))) {
            LogFollower self = followers.remove(id);
            if (self != null) {
              self.close();
            }
          }
        });
      } catch (RuntimeException e) {
        Status s = io.opsscaffold.errors.ErrorMapper.toStatus(e);
        reply(failure(command, s.getCode(), String.valueOf(s.getDescription())), ctx, span);
        return;
      }
      span.setAttribute("ops.agent.id", f.getAgentId());
      span.end();
      followers.put(id, follower);
      send(DaemonMessage.newBuilder().setLogChunk(LogChunk.newBuilder().setCommandId(id)));
      Thread.ofVirtual().name("follow-" + f.getAgentId()).start(follower::run);
    }

    private CommandResult read(Command command) {
      CommandResult.Builder r = CommandResult.newBuilder().setCommandId(command.getCommandId()).setSuccess(true);
      try {
        if (command.hasReadLogs()) {
          r.addAllLogLines(reads.tail(command.getReadLogs().getAgentId(), command.getReadLogs().getLines(), 100));
        } else {
          var m = command.getReadMetrics();
          r.addAllSamples(reads.metrics(m.getAgentId(),
              m.hasDuration() ? Duration.ofMillis(Durations.toMillis(m.getDuration())) : Duration.ZERO));
        }
        return r.build();
      } catch (RuntimeException e) {
        Status s = io.opsscaffold.errors.ErrorMapper.toStatus(e);
        return failure(command, s.getCode(), String.valueOf(s.getDescription()));
      }
    }

    private CommandResult failure(Command command, Status.Code code, String message) {
      return CommandResult.newBuilder()
          .setCommandId(command.getCommandId())
          .setSuccess(false)
          .setErrorCode(code.value())
          .setMessage(message)
          .build();
    }
  }

  @Override
  public void close() {
    running = false;
    outbox.wake();
    loop.interrupt();
    try {
      loop.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    channel.shutdownNow();
  }
}
