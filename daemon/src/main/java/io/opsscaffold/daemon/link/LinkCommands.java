package io.opsscaffold.daemon.link;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.LogChunk;
import io.opsscaffold.daemon.config.ConfigPusher;
import io.opsscaffold.daemon.logs.LogFollower;
import io.opsscaffold.daemon.queries.LocalQueries;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.errors.ErrorMapper;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Carries out the manager's commands on this daemon. Operations go through {@link
 * Supervisor#operate}, the path the local API takes too; log and metric reads and follows through
 * {@link LocalQueries}, the local API's own reads; config pushes through {@link ConfigPusher}. A
 * command id answered recently is answered again from a cache and never carried out twice (the
 * manager may send a command again after a reconnect).
 *
 * <p>Threads: {@link Session#handle} is called on the gRPC transport's callback thread and never
 * blocks: operations complete on the agents' runner threads, pushes and follows run on virtual
 * threads. Every reply goes out through the session's {@link Outgoing}, which serializes writes.
 */
public final class LinkCommands {
  /** How many recent results are kept for repeated command ids. */
  static final int RECENT_RESULTS = 256;

  /**
   * Where a session's messages go: the current stream. Thread-safe; false once the stream ended.
   */
  public interface Outgoing {
    boolean send(DaemonMessage.Builder message);
  }

  private final Supervisor supervisor;
  private final LocalQueries reads;
  private final ConfigPusher pusher;
  private final Tracer tracer;
  private final Clock clock;
  private final String nodeId;
  private final Map<String, CommandResult> recentResults =
      new LinkedHashMap<>(64, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, CommandResult> eldest) {
          return size() > RECENT_RESULTS;
        }
      };

  public LinkCommands(
      Supervisor supervisor,
      LocalQueries reads,
      ConfigPusher pusher,
      Tracer tracer,
      Clock clock,
      String nodeId) {
    this.supervisor = supervisor;
    this.reads = reads;
    this.pusher = pusher;
    this.tracer = tracer;
    this.clock = clock;
    this.nodeId = nodeId;
  }

  /** Commands arriving on one stream; its follows end when it is closed. */
  public Session open(Outgoing out) {
    return new Session(out);
  }

  /** The commands of one stream. */
  public final class Session implements AutoCloseable {
    private final Outgoing out;
    private final Map<String, LogFollower> followers = new ConcurrentHashMap<>();

    private Session(Outgoing out) {
      this.out = out;
    }

    /** Carries out {@code command} (traced as a child of {@code parent}); never blocks. */
    public void handle(Command command, Context parent) {
      Span span =
          tracer
              .spanBuilder("daemon operate agent")
              .setParent(parent)
              .setSpanKind(SpanKind.CONSUMER)
              .setAttribute("ops.command.id", command.getCommandId())
              .setAttribute("ops.node.id", nodeId)
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
        reply(
            failure(
                command, Status.Code.DEADLINE_EXCEEDED, "the command arrived after its deadline"),
            ctx,
            span);
        return;
      }
      try {
        switch (command.getActionCase()) {
          case OPERATE -> operate(command, ctx, span);
          case READ_LOGS, READ_METRICS -> reply(read(command), ctx, span);
          case READ_CONFIG -> reply(readConfig(command), ctx, span);
          case FOLLOW_LOGS -> follow(command, ctx, span);
          case CANCEL -> cancel(command, ctx, span);
          case PUSH_CONFIG -> {
            span.setAttribute("ops.agent.id", command.getPushConfig().getAgentId());
            span.setAttribute("ops.operation", "push-config");
            Thread.ofVirtual()
                .name("push-config-" + command.getPushConfig().getAgentId())
                .start(() -> reply(pushConfig(command, ctx), ctx, span));
          }
          default ->
              reply(
                  failure(
                      command,
                      Status.Code.UNIMPLEMENTED,
                      "this daemon does not know " + command.getActionCase()),
                  ctx,
                  span);
        }
      } catch (RuntimeException e) {
        Status s = ErrorMapper.toStatus(e);
        reply(failure(command, s.getCode(), String.valueOf(s.getDescription())), ctx, span);
      }
    }

    private void operate(Command command, Context ctx, Span span) {
      String agentId = command.getOperate().getAgentId();
      span.setAttribute("ops.agent.id", agentId);
      span.setAttribute("ops.operation", command.getOperate().getOperation().name());
      supervisor
          .operate(agentId, command.getOperate().getOperation(), ctx)
          .whenComplete(
              (snapshot, error) -> {
                CommandResult result;
                if (error != null) {
                  Status s = ErrorMapper.toStatus(error);
                  result = failure(command, s.getCode(), String.valueOf(s.getDescription()));
                } else {
                  result =
                      CommandResult.newBuilder()
                          .setCommandId(command.getCommandId())
                          .setSuccess(true)
                          .setMessage(snapshot.message())
                          .setAgent(LinkProtos.state(snapshot))
                          .build();
                }
                reply(result, ctx, span);
              });
    }

    private void cancel(Command command, Context ctx, Span span) {
      LogFollower f = followers.remove(command.getCancel().getCommandId());
      if (f != null) {
        f.close();
      }
      reply(
          CommandResult.newBuilder()
              .setCommandId(command.getCommandId())
              .setSuccess(true)
              .setMessage(f == null ? "nothing to cancel" : "cancelled")
              .build(),
          ctx,
          span);
    }

    private void reply(CommandResult result, Context ctx, Span span) {
      synchronized (recentResults) {
        recentResults.put(result.getCommandId(), result);
      }
      if (!result.getSuccess()) {
        span.setStatus(StatusCode.ERROR, result.getMessage());
      }
      out.send(
          DaemonMessage.newBuilder()
              .setCommandResult(result)
              .setTraceContext(LinkProtos.traceContext(ctx)));
      span.end();
    }

    private CommandResult pushConfig(Command command, Context ctx) {
      var push = command.getPushConfig();
      ConfigPusher.Result r =
          pusher.push(
              push.getAgentId(),
              push.getFilesList().stream()
                  .map(
                      f ->
                          new ConfigPusher.File(
                              f.getName(), f.getContent().getBytes(StandardCharsets.UTF_8)))
                  .toList(),
              ctx);
      CommandResult.Builder b =
          CommandResult.newBuilder()
              .setCommandId(command.getCommandId())
              .setSuccess(r.applied())
              .setMessage(r.message())
              .setConfigOutcome(r.outcome().name())
              .setConfigHash(r.hash());
      r.failure().ifPresent(kind -> b.setErrorCode(ErrorMapper.code(kind).value()));
      supervisor
          .runner(push.getAgentId())
          .ifPresent(runner -> b.setAgent(LinkProtos.state(runner.snapshot())));
      return b.build();
    }

    /**
     * Starts following an agent's output: an empty first chunk says it started, then the last
     * {@code lines} lines and every new one, until cancelled or the stream ends.
     */
    private void follow(Command command, Context ctx, Span span) {
      var f = command.getFollowLogs();
      String id = command.getCommandId();
      LogFollower follower =
          reads.follower(
              f.getAgentId(),
              f.getLines(),
              line -> {
                if (!out.send(
                    DaemonMessage.newBuilder()
                        .setLogChunk(LogChunk.newBuilder().setCommandId(id).addLines(line)))) {
                  LogFollower self = followers.remove(id);
                  if (self != null) {
                    self.close();
                  }
                }
              });
      span.setAttribute("ops.agent.id", f.getAgentId());
      span.end();
      followers.put(id, follower);
      out.send(DaemonMessage.newBuilder().setLogChunk(LogChunk.newBuilder().setCommandId(id)));
      Thread.ofVirtual().name("follow-" + f.getAgentId()).start(follower::run);
    }

    private CommandResult read(Command command) {
      CommandResult.Builder r =
          CommandResult.newBuilder().setCommandId(command.getCommandId()).setSuccess(true);
      if (command.hasReadLogs()) {
        r.addAllLogLines(
            reads.tail(command.getReadLogs().getAgentId(), command.getReadLogs().getLines(), 100));
      } else {
        var m = command.getReadMetrics();
        r.addAllSamples(
            reads.metrics(
                m.getAgentId(),
                m.hasDuration()
                    ? Duration.ofMillis(Durations.toMillis(m.getDuration()))
                    : Duration.ZERO));
      }
      return r.build();
    }

    private CommandResult readConfig(Command command) {
      ConfigPusher.Read read = pusher.read(command.getReadConfig().getAgentId());
      if (read.failure().isPresent()) {
        return failure(
            command,
            io.opsscaffold.errors.ErrorMapper.code(read.failure().get().kind()),
            read.failure().get().getMessage());
      }
      CommandResult.Builder r =
          CommandResult.newBuilder()
              .setCommandId(command.getCommandId())
              .setSuccess(true)
              .setConfigHash(read.hash());
      for (ConfigPusher.File f : read.files()) {
        r.addConfigFiles(
            io.opsscaffold.api.link.v1.ConfigFile.newBuilder()
                .setName(f.name())
                .setContent(new String(f.content(), java.nio.charset.StandardCharsets.UTF_8)));
      }
      return r.build();
    }

    /** Ends every follow of this stream. */
    @Override
    public void close() {
      followers.values().forEach(LogFollower::close);
      followers.clear();
    }
  }

  private static CommandResult failure(Command command, Status.Code code, String message) {
    return CommandResult.newBuilder()
        .setCommandId(command.getCommandId())
        .setSuccess(false)
        .setErrorCode(code.value())
        .setMessage(message)
        .build();
  }
}
