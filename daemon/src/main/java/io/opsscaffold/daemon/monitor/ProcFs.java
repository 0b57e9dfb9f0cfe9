package io.opsscaffold.daemon.monitor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads one process's figures straight from Linux's {@code /proc}: {@code stat} (CPU ticks,
 * threads, start time, virtual and resident size), {@code io} (storage bytes read and written) and
 * the entries of {@code fd} (open files): three small reads.
 *
 * <p>The daemon samples its agents this way on Linux instead of through OSHI's {@code getProcess},
 * which reads several more files per process (status, cmdline, environ, the owner's name) and
 * builds an object holding them all; for ten agents every five seconds that was the larger part of
 * the daemon's idle work. Stateless and thread-safe.
 */
final class ProcFs {
  /**
   * The figures of one read; {@code startTicks} tells a reused pid from the process it replaced.
   */
  record Reading(
      long startTicks,
      long cpuTicks,
      int threads,
      long virtualBytes,
      long rssBytes,
      long openFiles,
      long readBytes,
      long writeBytes) {}

  private final Path root;
  private final long pageSize;

  /**
   * @param root {@code /proc}, or a directory laid out like it (tests)
   * @param pageSize the size of a memory page in bytes ({@code stat} counts resident pages)
   */
  ProcFs(Path root, long pageSize) {
    this.root = root;
    this.pageSize = pageSize;
  }

  /** Whether {@code root} looks like a Linux proc file system (this process is in it). */
  static boolean available(Path root) {
    return Files.isReadable(root.resolve("self").resolve("stat"));
  }

  /** The process's figures; empty when it is gone (or was never there). */
  Optional<Reading> read(long pid) {
    Path dir = root.resolve(Long.toString(pid));
    String stat;
    try {
      stat = Files.readString(dir.resolve("stat"), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      return Optional.empty(); // exited between the caller's pid lookup and now
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields start after the
    // last ')'.
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      return Optional.empty();
    }
    String[] f = stat.substring(close + 2).strip().split(" ");
    if (f.length < 22) {
      return Optional.empty();
    }
    long cpu;
    int threads;
    long start;
    long vsize;
    long rssPages;
    try {
      // Indexes are proc(5)'s field numbers minus 3 (the fields before "state" are cut off).
      cpu = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime + stime
      threads = Integer.parseInt(f[17]);
      start = Long.parseLong(f[19]);
      vsize = Long.parseLong(f[20]);
      rssPages = Long.parseLong(f[21]);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    long[] io = io(dir);
    return Optional.of(
        new Reading(start, cpu, threads, vsize, rssPages * pageSize, openFiles(dir), io[0], io[1]));
  }

  /** read_bytes and write_bytes; zeros when io is not readable (another user's process). */
  private static long[] io(Path dir) {
    long[] rw = new long[2];
    try {
      for (String line : Files.readAllLines(dir.resolve("io"), StandardCharsets.US_ASCII)) {
        if (line.startsWith("read_bytes:")) {
          rw[0] = Long.parseLong(line.substring(11).strip());
        } else if (line.startsWith("write_bytes:")) {
          rw[1] = Long.parseLong(line.substring(12).strip());
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not ours to read: the sample reports no I/O rather than failing
    }
    return rw;
  }

  /** The number of open descriptors; 0 when fd is not readable. */
  private static long openFiles(Path dir) {
    long n = 0;
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(dir.resolve("fd"))) {
      for (Path ignored : fds) {
        n++;
      }
    } catch (IOException e) {
      return 0;
    }
    return n;
  }
}
