package io.opsscaffold.manager.operations;

import io.grpc.Status;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.link.CommandChannel;
import io.opsscaffold.manager.link.LinkSession;
import io.opsscaffold.time.Scheduled;
import io.opsscaffold.time.Time;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sends commands down a node's stream and matches the results that come back by command id.
 *
 * <p>Each pending command ends exactly once: with the daemon's result, with DEADLINE_EXCEEDED when
 * its timeout passes, or with UNAVAILABLE when the session ends first. Futures complete on the link
 * transport's thread or the time's timer thread; callers must not block in their continuations.
 */
public final class CommandRouter implements LinkSession.CommandResults, AutoCloseable {
  private record Pending(
      String nodeId,
      CommandChannel session,
      String description,
      CompletableFuture<CommandResult> future) {}

  /** Where a follow's output goes. Called on the link transport's thread; must not block. */
  public interface Follow {
    /** New output lines, oldest first. */
    void lines(java.util.List<String> lines);

    /** The follow ended: the daemon refused or ended it, or the session closed. Called once. */
    void ended(Status status);
  }

  private record Following(String nodeId, CommandChannel session, Follow follow) {}

  private final Map<String, Pending> pending = new ConcurrentHashMap<>();
  private final Map<String, Following> follows = new ConcurrentHashMap<>();
  private final Time time;

  /**
   * @param time command deadlines run on it (on its timer thread)
   */
  public CommandRouter(Time time) {
    this.time = time;
  }

  /**
   * Sends {@code command} on {@code session} (with the current trace context) and returns its
   * result; {@code description} (e.g. "restart of agent a1 on node n1") names it in errors.
   */
  public CompletableFuture<CommandResult> send(
      CommandChannel session, Command command, String description, Duration timeout) {
    CompletableFuture<CommandResult> future = new CompletableFuture<>();
    String id = command.getCommandId();
    pending.put(id, new Pending(session.nodeId(), session, description, future));
    Scheduled deadline =
        time.schedule(
            timeout,
            () ->
                future.completeExceptionally(
                    OpsException.timedOut(
                        "command "
                            + id
                            + " ("
                            + description
                            + ") got no answer from the daemon within "
                            + timeout.toSeconds()
                            + " s; it may still be carried out")));
    future.whenComplete(
        (r, e) -> {
          pending.remove(id);
          deadline.cancel();
        });
    if (!session.sendTraced(ManagerMessage.newBuilder().setCommand(command))) {
      future.completeExceptionally(
          OpsException.unavailable(
              "node "
                  + session.nodeId()
                  + "'s daemon disconnected while command "
                  + id
                  + " was being sent"));
    }
    return future;
  }

  /**
   * Sends a FollowLogs {@code command} on {@code session}; {@code follow} hears the output until
   * the returned handle is run (which tells the daemon to stop) or the follow ends.
   */
  public Runnable follow(CommandChannel session, Command command, Follow follow) {
    String id = command.getCommandId();
    follows.put(id, new Following(session.nodeId(), session, follow));
    if (!session.sendTraced(ManagerMessage.newBuilder().setCommand(command))) {
      end(
          id,
          Status.UNAVAILABLE.withDescription(
              "node " + session.nodeId() + "'s daemon disconnected"));
    }
    return () -> {
      if (follows.remove(id) != null) {
        session.sendTraced(
            ManagerMessage.newBuilder()
                .setCommand(
                    Command.newBuilder()
                        .setCommandId("cancel-" + id)
                        .setCancel(
                            io.opsscaffold.api.link.v1.CancelCommand.newBuilder()
                                .setCommandId(id))));
      }
    };
  }

  @Override
  public void logChunk(String nodeId, io.opsscaffold.api.link.v1.LogChunk chunk) {
    Following f = follows.get(chunk.getCommandId());
    if (f == null || !f.nodeId().equals(nodeId)) {
      return;
    }
    f.follow().lines(chunk.getLinesList());
    if (chunk.getEnd()) {
      end(chunk.getCommandId(), Status.OK.withDescription(chunk.getReason()));
    }
  }

  private void end(String commandId, Status status) {
    Following f = follows.remove(commandId);
    if (f != null) {
      f.follow().ended(status);
    }
  }

  @Override
  public void completed(String nodeId, CommandResult result) {
    Pending p = pending.get(result.getCommandId());
    if (p != null && p.nodeId().equals(nodeId)) {
      p.future().complete(result);
      return;
    }
    Following f = follows.get(result.getCommandId());
    if (f != null && f.nodeId().equals(nodeId) && !result.getSuccess()) {
      end(result.getCommandId(), statusOf(result, "node " + nodeId + ": " + result.getMessage()));
    }
  }

  @Override
  public void sessionClosed(CommandChannel session) {
    pending
        .values()
        .removeIf(
            p -> {
              if (p.session() != session) {
                return false;
              }
              p.future()
                  .completeExceptionally(
                      OpsException.unavailable(
                          "node "
                              + p.nodeId()
                              + "'s daemon disconnected before answering ("
                              + p.description()
                              + ")"));
              return true;
            });
    follows.forEach(
        (id, f) -> {
          if (f.session() == session) {
            end(
                id,
                Status.UNAVAILABLE.withDescription(
                    "node " + f.nodeId() + "'s daemon disconnected"));
          }
        });
  }

  /**
   * The status of a failed result: the daemon's error code (INTERNAL when it gave none) and {@code
   * description}.
   */
  static Status statusOf(CommandResult failed, String description) {
    Status.Code code = Status.fromCodeValue(failed.getErrorCode()).getCode();
    return Status.fromCode(code == Status.Code.OK ? Status.Code.INTERNAL : code)
        .withDescription(description);
  }

  /** Commands sent and not yet answered. */
  public int inFlight() {
    return pending.size();
  }

  @Override
  public void close() {
    pending
        .values()
        .forEach(
            p ->
                p.future()
                    .completeExceptionally(
                        Status.UNAVAILABLE
                            .withDescription("the manager is shutting down")
                            .asRuntimeException()));
    follows
        .keySet()
        .forEach(id -> end(id, Status.UNAVAILABLE.withDescription("the manager is shutting down")));
  }
}
