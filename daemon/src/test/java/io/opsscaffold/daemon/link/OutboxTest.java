package io.opsscaffold.daemon.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.health.Health;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.daemon.supervision.Lifecycle;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OutboxTest {
  private final ManualTime time = new ManualTime();
  private final Outbox outbox = new Outbox(time);

  private static AgentSnapshot state(String id, Lifecycle lifecycle) {
    return new AgentSnapshot(
        id,
        "t",
        lifecycle,
        Health.HEALTHY,
        1,
        Optional.empty(),
        Optional.empty(),
        Duration.ZERO,
        OptionalInt.empty(),
        Optional.empty(),
        0,
        lifecycle.name(),
        List.of(),
        "");
  }

  @Test
  void onlyTheNewestStateOfEachAgentWaitsStampedWithTheTime() throws Exception {
    outbox.changed(state("a", Lifecycle.STARTING), Context.root());
    time.advance(Duration.ofSeconds(1));
    outbox.changed(state("a", Lifecycle.RUNNING), Context.root());
    outbox.changed(state("b", Lifecycle.STOPPED), Context.root());
    List<Outbox.Change> changes = outbox.awaitAndDrain(10_000, 0);
    assertEquals(
        List.of(Lifecycle.RUNNING, Lifecycle.STOPPED),
        changes.stream().map(c -> c.snapshot().lifecycle()).toList());
    assertEquals(time.now(), changes.get(0).observedAt());
    assertTrue(outbox.drain().isEmpty());
  }

  @Test
  void aWaitEndsAtItsTimeoutOnTheInjectedTime() throws Exception {
    CompletableFuture<List<Outbox.Change>> waiting =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return outbox.awaitAndDrain(5_000, 0);
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    time.awaitTimers(1);
    time.advance(Duration.ofMillis(4_999));
    assertTrue(!waiting.isDone());
    time.advance(Duration.ofMillis(1));
    assertEquals(List.of(), waiting.get(5, TimeUnit.SECONDS));
  }

  @Test
  void aWakeWhileNobodyWaitsIsNotLost() throws Exception {
    outbox.wake(); // e.g. a resync request that arrives while the link loop is between two waits
    assertEquals(
        List.of(), outbox.awaitAndDrain(60_000, 0), "returns at once instead of waiting a minute");
    assertEquals(0, time.pendingTimers());
  }
}
