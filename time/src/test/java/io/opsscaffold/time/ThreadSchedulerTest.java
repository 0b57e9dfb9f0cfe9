package io.opsscaffold.time;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The scheduler on the real time: order, one thread, cancellation, failures that do not stop it.
 */
class ThreadSchedulerTest {
  @Test
  void tasksRunInOrderOnTheSchedulersOwnThread() throws Exception {
    List<Integer> order = new CopyOnWriteArrayList<>();
    try (Scheduler s = Time.system().scheduler("order")) {
      for (int i = 0; i < 100; i++) {
        int n = i;
        s.execute(() -> order.add(n));
      }
      assertTrue(s.submit(s::inThread).get(5, TimeUnit.SECONDS));
      assertFalse(s.inThread());
      assertEquals(100, order.size());
      for (int i = 0; i < 100; i++) {
        assertEquals(i, order.get(i));
      }
    }
  }

  @Test
  void aFailingTaskDoesNotStopTheThreadAndSubmitReportsIt() throws Exception {
    try (Scheduler s = Time.system().scheduler("failing")) {
      s.execute(
          () -> {
            throw new IllegalStateException("boom");
          });
      ExecutionException e =
          assertThrows(
              ExecutionException.class,
              () ->
                  s.submit(
                          () -> {
                            throw new IllegalArgumentException("bad");
                          })
                      .get(5, TimeUnit.SECONDS));
      assertEquals("bad", e.getCause().getMessage());
      assertEquals(42, s.submit(() -> 42).get(5, TimeUnit.SECONDS));
    }
  }

  @Test
  void aCancelledDelayedTaskNeverRunsAndARepeatingOneStops() throws Exception {
    AtomicInteger ran = new AtomicInteger();
    CountDownLatch three = new CountDownLatch(3);
    try (Scheduler s = Time.system().scheduler("cancel")) {
      Scheduled once = s.schedule(Duration.ofMillis(50), ran::incrementAndGet);
      assertTrue(once.cancel());
      Scheduled repeating =
          s.scheduleWithFixedDelay(Duration.ZERO, Duration.ofMillis(1), three::countDown);
      assertTrue(three.await(5, TimeUnit.SECONDS));
      repeating.cancel();
      // a marker scheduled after the cancelled task's time: once it ran, the cancelled one had its
      // chance
      CountDownLatch marker = new CountDownLatch(1);
      s.schedule(Duration.ofMillis(100), marker::countDown);
      assertTrue(marker.await(5, TimeUnit.SECONDS));
      assertEquals(0, ran.get());
    }
  }

  @Test
  void tasksAfterCloseAreDroppedAndSubmitFails() {
    Scheduler s = Time.system().scheduler("closed");
    s.close();
    s.execute(() -> {});
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> s.submit(() -> 1).get(5, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("closed"));
  }
}
