package io.opsscaffold.manager.operations;

import com.google.protobuf.util.Timestamps;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opsscaffold.api.link.v1.AgentOperation;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.OperateAgent;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.manager.link.LinkSession;
import io.opsscaffold.manager.link.SessionRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Operations on agents: checks the request, sends the command down the node's stream and answers
 * with the daemon's result. The manager never dials a daemon: a node without a stream is
 * UNAVAILABLE. Thread-safe; {@link #operate} blocks only on the database lookups.
 */
public final class OperationService {
  /** The operations {@link #operate} accepts, as written in the HTTP path. */

  /** What the daemon answered. */
  public record Outcome(
      String commandId, String message, NodeRecord node, AgentState agent, Duration duration) {}

  private final FleetQueries queries;
  private final SessionRegistry registry;
  private final CommandRouter router;
  private final Tracer tracer;
  private final Clock clock;
  private final Duration defaultTimeout;
  private final OperationRepository log;

  public OperationService(
      FleetQueries queries,
      SessionRegistry registry,
      CommandRouter router,
      Tracer tracer,
      Clock clock,
      Duration defaultTimeout,
      OperationRepository log) {
    this.log = log;
    this.queries = queries;
    this.registry = registry;
    this.router = router;
    this.tracer = tracer;
    this.clock = clock;
    this.defaultTimeout = defaultTimeout;
  }

  /**
   * Starts, stops or restarts an agent.
   *
   * @param timeout how long to wait for the daemon; zero means the configured default
   * @return completes with the daemon's result, or exceptionally with an {@link OpsException}
   *     (NOT_FOUND, UNAVAILABLE, TIMED_OUT) or the daemon's own error status
   */
  public CompletableFuture<Outcome> operate(
      String nodeId, String agentId, String operation, Duration timeout) {
    String requester = Requester.current();
    Prepared prepared = prepare(nodeId, agentId, operation, timeout);
    long startedMs = clock.millis();
    String traceId = io.opentelemetry.api.trace.Span.current().getSpanContext().getTraceId();
    String commandId = "cmd-" + UUID.randomUUID();
    // The audit comes first: an operation whose record cannot be written is not done at all.
    try {
      log.save(
          new OperationRecord(
              commandId, operation, requester, startedMs, 0, "RUNNING", List.of(), traceId));
    } catch (RuntimeException e) {
      throw OpsException.unavailable(
          "the operations log cannot be written, so "
              + operation
              + " of agent "
              + agentId
              + " was not done; retry when the database is back");
    }
    CompletableFuture<Outcome> result = send(prepared, commandId);
    return result.whenComplete(
        (outcome, error) -> {
          io.opsscaffold.api.fleet.v1.BatchItemResult.Builder item =
              io.opsscaffold.api.fleet.v1.BatchItemResult.newBuilder()
                  .setNodeId(nodeId)
                  .setAgentId(agentId)
                  .setDuration(
                      com.google.protobuf.util.Durations.fromMillis(clock.millis() - startedMs));
          if (error == null) {
            item.setOk(true).setCode("OK").setMessage(outcome.message());
          } else {
            Status s = io.opsscaffold.errors.ErrorMapper.toStatus(error);
            item.setOk(false)
                .setCode(s.getCode().name())
                .setMessage(String.valueOf(s.getDescription()));
          }
          List<io.opsscaffold.api.fleet.v1.BatchItemResult> items = List.of(item.build());
          try {
            log.save(
                new OperationRecord(
                    commandId,
                    operation,
                    requester,
                    startedMs,
                    clock.millis(),
                    OperationRecord.resultOf(items),
                    items,
                    traceId));
          } catch (RuntimeException e) {
            java.util.logging.Logger.getLogger(OperationService.class.getName())
                .warning(
                    () -> "could not log operation " + operation + " of " + agentId + ": " + e);
          }
        });
  }

  /**
   * {@link #operate} without an entry of its own in the operations log (batches log themselves).
   */
  CompletableFuture<Outcome> operateUnlogged(
      String nodeId, String agentId, String operation, Duration timeout) {
    return send(prepare(nodeId, agentId, operation, timeout), "cmd-" + UUID.randomUUID());
  }

  /** An operation checked and ready to send. */
  private record Prepared(
      String nodeId,
      String agentId,
      String operation,
      AgentOperation op,
      Duration timeout,
      NodeRecord node,
      Target target) {}

  /** Where a node's commands go: its stream here, or the manager of the area that holds it. */
  private interface Target {
    CompletableFuture<io.opsscaffold.api.link.v1.CommandResult> send(
        Command command, String description, Duration wait);

    Runnable follow(Command command, CommandRouter.Follow follow);
  }

  private volatile Relay relay = Relay.NONE;

  /** Commands for nodes whose stream another manager of the area holds go through {@code relay}. */
  public void relayTo(Relay relay) {
    this.relay = relay;
  }

  /**
   * The node's stream on this manager, or else the manager holding it.
   *
   * @throws OpsException UNAVAILABLE when no manager holds it
   */
  private Target target(NodeRecord node) {
    Optional<LinkSession> session = registry.find(node.nodeId());
    if (session.isPresent()) {
      LinkSession s = session.get();
      return new Target() {
        @Override
        public CompletableFuture<io.opsscaffold.api.link.v1.CommandResult> send(
            Command command, String description, Duration wait) {
          return router.send(s, command, description, wait);
        }

        @Override
        public Runnable follow(Command command, CommandRouter.Follow follow) {
          return router.follow(s, command, follow);
        }
      };
    }
    Relay r = relay;
    if (r.heldElsewhere(node.nodeId())) {
      String nodeId = node.nodeId();
      return new Target() {
        @Override
        public CompletableFuture<io.opsscaffold.api.link.v1.CommandResult> send(
            Command command, String description, Duration wait) {
          return r.send(nodeId, command, description, wait);
        }

        @Override
        public Runnable follow(Command command, CommandRouter.Follow follow) {
          return r.follow(nodeId, command, follow);
        }
      };
    }
    throw OpsException.unavailable(notConnected(node));
  }

  /** Checks the request and finds the node's stream; throws what the caller must hear at once. */
  private Prepared prepare(String nodeId, String agentId, String operation, Duration timeout) {
    AgentOperation op = io.opsscaffold.api.AgentOperations.parse(operation);
    Duration wait = timeout.isZero() ? defaultTimeout : timeout;
    if (wait.compareTo(Duration.ofSeconds(1)) < 0 || wait.compareTo(Duration.ofSeconds(300)) > 0) {
      throw OpsException.invalidArgument(
          "timeout must be between 1s and 300s (got " + wait.toMillis() + " ms)");
    }
    NodeRecord node = queries.agent(nodeId, agentId).node();
    return new Prepared(nodeId, agentId, operation, op, wait, node, target(node));
  }

  private CompletableFuture<Outcome> send(Prepared p, String commandId) {
    String nodeId = p.nodeId();
    String agentId = p.agentId();
    String operation = p.operation();
    AgentOperation op = p.op();
    Duration wait = p.timeout();
    NodeRecord node = p.node();
    Target target = p.target();

    Span span =
        tracer
            .spanBuilder("operate agent")
            .setAttribute("ops.node.id", nodeId)
            .setAttribute("ops.agent.id", agentId)
            .setAttribute("ops.operation", operation)
            .startSpan();
    try (Scope ignored = span.makeCurrent()) {
      span.setAttribute("ops.command.id", commandId);
      long sentMs = clock.millis();
      Command command =
          Command.newBuilder()
              .setCommandId(commandId)
              .setDeadline(Timestamps.fromMillis(sentMs + wait.toMillis()))
              .setOperate(OperateAgent.newBuilder().setAgentId(agentId).setOperation(op))
              .build();
      String description = operation + " of agent " + agentId + " on node " + nodeId;
      return target
          .send(command, description, wait)
          .thenApply(
              result -> {
                if (!result.getSuccess()) {
                  throw CommandRouter.statusOf(
                          result,
                          "node "
                              + nodeId
                              + " could not "
                              + operation
                              + " agent "
                              + agentId
                              + ": "
                              + result.getMessage())
                      .asRuntimeException();
                }
                return new Outcome(
                    commandId,
                    result.getMessage(),
                    node,
                    result.getAgent(),
                    Duration.ofMillis(clock.millis() - sentMs));
              })
          .whenComplete(
              (r, e) -> {
                if (e != null) {
                  span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
                }
                span.end();
              });
    } catch (RuntimeException e) {
      span.setStatus(StatusCode.ERROR, e.getMessage());
      span.end();
      throw e;
    }
  }

  /** The files of the agent's config directory, read by its daemon. */
  public CompletableFuture<io.opsscaffold.api.link.v1.CommandResult> readConfig(
      String nodeId, String agentId) {
    return read(
        nodeId,
        agentId,
        "config",
        Command.newBuilder()
            .setReadConfig(io.opsscaffold.api.link.v1.ReadConfig.newBuilder().setAgentId(agentId)));
  }

  /** The last {@code lines} lines of the agent's output (0 means 100), read by its daemon. */
  public CompletableFuture<List<String>> readLogs(String nodeId, String agentId, int lines) {
    if (lines < 0 || lines > 1000) {
      throw OpsException.invalidArgument("lines must be between 1 and 1000 (got " + lines + ")");
    }
    return read(
            nodeId,
            agentId,
            "logs",
            Command.newBuilder()
                .setReadLogs(
                    io.opsscaffold.api.link.v1.ReadLogs.newBuilder()
                        .setAgentId(agentId)
                        .setLines(lines)))
        .thenApply(r -> List.copyOf(r.getLogLinesList()));
  }

  /**
   * The agent's resource history over {@code window} (zero means 5 minutes), read by its daemon.
   */
  public CompletableFuture<List<io.opsscaffold.api.status.v1.ProcessSample>> readMetrics(
      String nodeId, String agentId, Duration window) {
    if (window.isNegative() || window.compareTo(Duration.ofHours(24)) > 0) {
      throw OpsException.invalidArgument(
          "duration must be between 1s and 24h (got " + window.toSeconds() + "s)");
    }
    return read(
            nodeId,
            agentId,
            "metrics",
            Command.newBuilder()
                .setReadMetrics(
                    io.opsscaffold.api.link.v1.ReadMetrics.newBuilder()
                        .setAgentId(agentId)
                        .setDuration(
                            com.google.protobuf.util.Durations.fromMillis(window.toMillis()))))
        .thenApply(r -> List.copyOf(r.getSamplesList()));
  }

  /**
   * Follows the agent's output through its daemon: {@code follow} hears the last {@code lines}
   * lines (0 means 10) and every new one. Run the returned handle to stop.
   */
  public Runnable followLogs(
      String nodeId, String agentId, int lines, CommandRouter.Follow follow) {
    if (lines < 0 || lines > 1000) {
      throw OpsException.invalidArgument("lines must be between 0 and 1000 (got " + lines + ")");
    }
    Target target = connectedSession(nodeId, agentId);
    return target.follow(
        Command.newBuilder()
            .setCommandId("follow-" + UUID.randomUUID())
            .setFollowLogs(
                io.opsscaffold.api.link.v1.FollowLogs.newBuilder()
                    .setAgentId(agentId)
                    .setLines(lines == 0 ? 10 : lines))
            .build(),
        follow);
  }

  /**
   * Sends {@code files} to the agent's daemon, which writes them, makes the agent take them and
   * rolls back when it does not. Completes with the daemon's result, whatever its outcome; fails
   * (NOT_FOUND, UNAVAILABLE, TIMED_OUT) only when there is none.
   */
  CompletableFuture<io.opsscaffold.api.link.v1.CommandResult> pushConfig(
      String nodeId,
      String agentId,
      List<io.opsscaffold.api.link.v1.ConfigFile> files,
      Duration timeout) {
    Target target = connectedSession(nodeId, agentId);
    Span span =
        tracer
            .spanBuilder("push config")
            .setAttribute("ops.node.id", nodeId)
            .setAttribute("ops.agent.id", agentId)
            .setAttribute("ops.operation", "push-config")
            .startSpan();
    try (Scope ignored = span.makeCurrent()) {
      Command command =
          Command.newBuilder()
              .setCommandId("config-" + UUID.randomUUID())
              .setDeadline(Timestamps.fromMillis(clock.millis() + timeout.toMillis()))
              .setPushConfig(
                  io.opsscaffold.api.link.v1.PushConfig.newBuilder()
                      .setAgentId(agentId)
                      .addAllFiles(files))
              .build();
      return target
          .send(command, "config push to agent " + agentId + " on node " + nodeId, timeout)
          .whenComplete(
              (r, e) -> {
                if (e != null || !r.getSuccess()) {
                  span.setStatus(
                      StatusCode.ERROR,
                      e != null ? String.valueOf(e.getMessage()) : r.getMessage());
                }
                if (r != null) {
                  span.setAttribute("ops.config.outcome", r.getConfigOutcome());
                }
                span.end();
              });
    }
  }

  private Target connectedSession(String nodeId, String agentId) {
    return target(queries.agent(nodeId, agentId).node());
  }

  private CompletableFuture<io.opsscaffold.api.link.v1.CommandResult> read(
      String nodeId, String agentId, String what, Command.Builder command) {
    Target target = connectedSession(nodeId, agentId);
    String commandId = "read-" + UUID.randomUUID();
    command
        .setCommandId(commandId)
        .setDeadline(Timestamps.fromMillis(clock.millis() + defaultTimeout.toMillis()));
    return target
        .send(
            command.build(),
            "reading " + what + " of agent " + agentId + " on node " + nodeId,
            defaultTimeout)
        .thenApply(
            result -> {
              if (!result.getSuccess()) {
                throw CommandRouter.statusOf(result, "node " + nodeId + ": " + result.getMessage())
                    .asRuntimeException();
              }
              return result;
            });
  }

  private String notConnected(NodeRecord node) {
    if (node.lastSeenMs() <= 0) {
      return "node " + node.nodeId() + "'s daemon is not connected";
    }
    long ago = Math.max(0, (clock.millis() - node.lastSeenMs()) / 1000);
    return "node " + node.nodeId() + "'s daemon is not connected (last seen " + ago + " s ago)";
  }
}
