package io.opsscaffold.agent.faults;

import io.opsscaffold.agent.config.FaultSettings;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Makes the agent misbehave on purpose, as its {@link FaultSettings} say; {@link #apply} switches
 * faults on and off in a running agent (called at start and on every accepted reload, one call at a
 * time). Flags that other parts read ({@link #current}) are published through a volatile field.
 */
public final class FaultInjector implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(FaultInjector.class.getName());

  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("faults").daemon(true).unstarted(r));
  private volatile FaultSettings current = FaultSettings.NONE;
  private ScheduledFuture<?> crash;
  private ScheduledFuture<?> growth;
  private Thread burner;
  private final List<Process> children = new ArrayList<>();
  private final List<byte[]> hoard = new ArrayList<>();

  public FaultSettings current() {
    return current;
  }

  /**
   * Switches to {@code faults}: the crash timer restarts, burners and growth follow the new rates.
   */
  public synchronized void apply(FaultSettings faults) {
    FaultSettings before = current;
    current = faults;
    if (crash != null) {
      crash.cancel(false);
      crash = null;
    }
    if (!faults.crashAfter().isZero()) {
      crash =
          timer.schedule(
              () -> {
                LOG.severe(
                    () ->
                        "crashing on purpose (faults.crash_after) with exit code "
                            + faults.crashExitCode());
                Runtime.getRuntime().halt(faults.crashExitCode());
              },
              faults.crashAfter().toMillis(),
              TimeUnit.MILLISECONDS);
    }
    forkChildren(faults.forkChildren());
    if (faults.cpuBurnPercent() > 0 && burner == null) {
      burner = Thread.ofPlatform().name("cpu-burn").daemon(true).start(this::burn);
    }
    if (growth != null && faults.memoryGrowthMbPerMinute() != before.memoryGrowthMbPerMinute()) {
      growth.cancel(false);
      growth = null;
    }
    if (faults.memoryGrowthMbPerMinute() > 0 && growth == null) {
      growth = timer.scheduleAtFixedRate(this::grow, 1, 1, TimeUnit.SECONDS);
    }
    if (!faults.equals(FaultSettings.NONE)) {
      LOG.warning(() -> "simulating faults: " + faults);
    }
  }

  /** The children started by {@code fork_children}, for tests and logs. */
  public synchronized List<Long> childPids() {
    return children.stream().filter(Process::isAlive).map(Process::pid).toList();
  }

  private void forkChildren(int wanted) {
    children.removeIf(p -> !p.isAlive());
    while (children.size() < wanted) {
      try {
        // A shell that ignores SIGTERM and idles; it stays in the agent's process group.
        Process child =
            new ProcessBuilder("sh", "-c", "trap '' TERM; while :; do sleep 1; done")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        children.add(child);
        LOG.warning(
            () -> "forked child " + child.pid() + " that ignores SIGTERM (faults.fork_children)");
      } catch (IOException e) {
        LOG.warning(() -> "could not fork a child: " + e);
        return;
      }
    }
    while (children.size() > wanted) {
      children.remove(children.size() - 1).destroyForcibly();
    }
  }

  /** Busy for {@code cpu_burn_percent} of every 100 ms on one core. */
  private void burn() {
    long sink = 0;
    while (true) {
      int percent = current.cpuBurnPercent();
      long windowStart = System.nanoTime();
      long busyUntil = windowStart + percent * 1_000_000L;
      while (System.nanoTime() < busyUntil) {
        sink += System.nanoTime() % 7;
      }
      long idleMs = 100 - percent;
      try {
        Thread.sleep(Math.max(idleMs, percent == 0 ? 100 : 0));
      } catch (InterruptedException e) {
        if (sink == 42) {
          LOG.fine("unreachable");
        }
        return;
      }
    }
  }

  /** Allocates and touches this second's share of {@code memory_growth_mb_per_minute}. */
  private void grow() {
    int kib = current.memoryGrowthMbPerMinute() * 1024 / 60;
    try {
      byte[] chunk = new byte[kib * 1024];
      for (int i = 0; i < chunk.length; i += 4096) {
        chunk[i] = 1;
      }
      synchronized (this) {
        hoard.add(chunk);
      }
    } catch (OutOfMemoryError e) {
      LOG.severe("memory growth stopped: the heap is full (raise -Xmx to grow further)");
      growth.cancel(false);
    }
  }

  /** Bytes held by the memory-growth fault. */
  public synchronized long hoardedBytes() {
    long total = 0;
    for (byte[] b : hoard) {
      total += b.length;
    }
    return total;
  }

  @Override
  public synchronized void close() {
    timer.shutdownNow();
    if (burner != null) {
      burner.interrupt();
    }
    children.forEach(Process::destroyForcibly);
  }
}
