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
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
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
}
