package io.opsscaffold.manager.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.LogChunk;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.manager.link.CommandChannel;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Commands matched to their results, deadlines on a manual time, sessions that end first. */
class CommandRouterTest {
  private final ManualTime time = new ManualTime();
  private final CommandRouter router = new CommandRouter(time);

  /** A daemon's stream that records what is sent down it. */
  static final class FakeChannel implements CommandChannel {
    final String node;
    final List<ManagerMessage> sent = new CopyOnWriteArrayList<>();
    volatile boolean open = true;

    FakeChannel(String node) {
      this.node = node;
    }

    @Override
    public String nodeId() {
      return node;
    }

    @Override
    public boolean sendTraced(ManagerMessage.Builder message) {
      if (open) {
        sent.add(message.build());
      }
      return open;
    }
  }

  private static Command command(String id) {
    return Command.newBuilder().setCommandId(id).build();
  }

  private static Status failure(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(5, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return ErrorMapper.toStatus(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no answer", e);
    }
  }

  @Test
  void theResultWithTheCommandsIdFromItsNodeAnswersIt() throws Exception {
    FakeChannel n1 = new FakeChannel("n1");
    CompletableFuture<CommandResult> f =
        router.send(n1, command("c1"), "restart of a1 on n1", Duration.ofSeconds(30));
    assertEquals("c1", n1.sent.get(0).getCommand().getCommandId());
    router.completed("n2", CommandResult.newBuilder().setCommandId("c1").setSuccess(true).build());
    assertFalse(f.isDone(), "a result from another node is not this command's");
    router.completed(
        "n1",
        CommandResult.newBuilder().setCommandId("c1").setSuccess(true).setMessage("ok").build());
    assertEquals("ok", f.get(5, TimeUnit.SECONDS).getMessage());
    assertEquals(0, router.inFlight());
    assertEquals(0, time.pendingTimers(), "the deadline is cancelled with the answer");
  }

  @Test
  void aCommandWithoutAnswerEndsExactlyAtItsDeadline() throws Exception {
    CompletableFuture<CommandResult> f =
        router.send(
            new FakeChannel("n1"), command("c2"), "stop of a1 on n1", Duration.ofSeconds(30));
    time.advance(Duration.ofMillis(29_999));
    assertFalse(f.isDone());
    time.advance(Duration.ofMillis(1));
    Status s = failure(f);
    assertEquals(Status.Code.DEADLINE_EXCEEDED, s.getCode());
    assertEquals(
        "command c2 (stop of a1 on n1) got no answer from the daemon within 30 s; it may still be carried out",
        s.getDescription());
    assertEquals(0, router.inFlight());
  }

  @Test
  void aSessionThatEndsFailsItsCommandsAndFollowsButNoOneElses() throws Exception {
    FakeChannel n1 = new FakeChannel("n1");
    FakeChannel n2 = new FakeChannel("n2");
    CompletableFuture<CommandResult> mine =
        router.send(n1, command("c3"), "restart of a1 on n1", Duration.ofSeconds(30));
    CompletableFuture<CommandResult> other =
        router.send(n2, command("c4"), "restart of a1 on n2", Duration.ofSeconds(30));
    List<Status> ends = new CopyOnWriteArrayList<>();
    router.follow(
        n1,
        command("f1"),
        new CommandRouter.Follow() {
          @Override
          public void lines(List<String> lines) {}

          @Override
          public void ended(Status status) {
            ends.add(status);
          }
        });
    router.sessionClosed(n1);
    Status s = failure(mine);
    assertEquals(Status.Code.UNAVAILABLE, s.getCode());
    assertEquals(
        "node n1's daemon disconnected before answering (restart of a1 on n1)", s.getDescription());
    assertEquals(List.of(Status.Code.UNAVAILABLE), ends.stream().map(Status::getCode).toList());
    assertFalse(other.isDone());
  }

  @Test
  void aStreamThatEndedWhileSendingFailsAtOnce() throws Exception {
    FakeChannel gone = new FakeChannel("n1");
    gone.open = false;
    Status s =
        failure(router.send(gone, command("c5"), "start of a1 on n1", Duration.ofSeconds(30)));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode());
  }

  @Test
  void aFollowHearsItsLinesAndStoppingItCancelsItOnTheDaemon() {
    FakeChannel n1 = new FakeChannel("n1");
    List<String> lines = new CopyOnWriteArrayList<>();
    Runnable stop =
        router.follow(
            n1,
            command("f2"),
            new CommandRouter.Follow() {
              @Override
              public void lines(List<String> l) {
                lines.addAll(l);
              }

              @Override
              public void ended(Status status) {}
            });
    router.logChunk(
        "n1", LogChunk.newBuilder().setCommandId("f2").addLines("one").addLines("two").build());
    router.logChunk("n2", LogChunk.newBuilder().setCommandId("f2").addLines("not mine").build());
    assertEquals(List.of("one", "two"), lines);
    stop.run();
    ManagerMessage cancel = n1.sent.get(n1.sent.size() - 1);
    assertTrue(cancel.getCommand().hasCancel());
    assertEquals("f2", cancel.getCommand().getCancel().getCommandId());
  }
}
