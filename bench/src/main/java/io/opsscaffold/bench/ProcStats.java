package io.opsscaffold.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A process's resident memory and CPU time from Linux's /proc. */
final class ProcStats {
  private static final long TICKS_PER_SECOND = 100; // USER_HZ on Linux

  private ProcStats() {}

  static long rssBytes(long pid) {
    return kibField(Path.of("/proc", Long.toString(pid), "status"), "VmRSS:") * 1024;
  }

  /**
   * RSS once it has stopped falling: after a full collection the JVM gives memory back in the
   * background (G1 uncommits regions concurrently), so an immediate reading depends on how far that
   * got. Reads every 500 ms until two seconds pass without a drop of more than 1 MiB (at most 30
   * s).
   */
  static long settledRssBytes(long pid) throws InterruptedException {
    long low = rssBytes(pid);
    long lowSince = System.nanoTime();
    long giveUp = lowSince + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() - lowSince < 2_000_000_000L && System.nanoTime() < giveUp) {
      Thread.sleep(500);
      long now = rssBytes(pid);
      if (now < low - (1 << 20)) {
        lowSince = System.nanoTime();
      }
      low = Math.min(low, now);
    }
    return low;
  }

  /** Proportional set size: resident memory with shared pages split between their sharers. */
  static long pssBytes(long pid) {
    return kibField(Path.of("/proc", Long.toString(pid), "smaps_rollup"), "Pss:") * 1024;
  }

  /**
   * The number on the line of {@code file} that starts with {@code key} (a size in KiB); 0 when
   * none.
   */
  private static long kibField(Path file, String key) {
    try {
      for (String line : Files.readAllLines(file)) {
        if (line.startsWith(key)) {
          return Long.parseLong(line.replaceAll("\\D+", ""));
        }
      }
      return 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** CPU seconds (user + system) the process used so far. */
  static double cpuSeconds(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) TICKS_PER_SECOND;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A starting point for measuring a process's CPU use. */
  record Cpu(long pid, double cpuAtStart, long nanosAtStart) {
    /** Cores used on average since the start (1.0 = one core busy). */
    double coresSince() {
      return (cpuSeconds(pid) - cpuAtStart) / ((System.nanoTime() - nanosAtStart) / 1e9);
    }
  }

  static Cpu cpu(long pid) {
    return new Cpu(pid, cpuSeconds(pid), System.nanoTime());
  }

  /**
   * CPU seconds used so far by every running PostgreSQL server process (command name "postgres"); a
   * backend that exits in between takes its time with it, so measure over connections that stay.
   */
  static double postgresCpuSeconds() {
    double total = 0;
    try (var dirs = Files.list(Path.of("/proc"))) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        String name = dir.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          if (Files.readString(dir.resolve("comm")).strip().equals("postgres")) {
            total += cpuSeconds(Long.parseLong(name));
          }
        } catch (IOException | UncheckedIOException e) {
          // the process ended while we looked
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return total;
  }
}
