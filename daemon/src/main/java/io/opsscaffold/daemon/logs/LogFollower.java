package io.opsscaffold.daemon.logs;

import io.opsscaffold.time.Time;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Sends an agent's last lines, then each new complete line as it is written, until {@link #close}.
 * Checks the file every 200 ms; a file that shrank was rotated (truncated) and is read again from
 * its start. Runs on the caller's thread ({@link #run} blocks); {@code sink} failing (the client
 * went away) ends it.
 */
public final class LogFollower implements AutoCloseable {
  private final AgentLogs logs;
  private final String agentId;
  private final int initialLines;
  private final Consumer<String> sink;
  static final java.time.Duration POLL = java.time.Duration.ofMillis(200);
  private volatile boolean open = true;

  private final Time time;

  /**
   * @param time the 200 ms polls wait on it
   */
  public LogFollower(
      AgentLogs logs, String agentId, int initialLines, Consumer<String> sink, Time time) {
    this.time = time;
    this.logs = logs;
    this.agentId = agentId;
    this.initialLines = initialLines;
    this.sink = sink;
  }

  public void run() {
    Path file = logs.file(agentId);
    long offset = size(file);
    for (String line : logs.tail(agentId, initialLines)) {
      sink.accept(line);
    }
    StringBuilder partial = new StringBuilder();
    while (open) {
      long size = size(file);
      if (size < offset) {
        offset = 0; // rotated: the file was truncated
        partial.setLength(0);
      }
      if (size > offset) {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
          raf.seek(offset);
          byte[] buf = new byte[(int) Math.min(size - offset, 1 << 20)];
          raf.readFully(buf);
          offset += buf.length;
          partial.append(new String(buf, StandardCharsets.UTF_8));
          int nl;
          while ((nl = partial.indexOf("\n")) >= 0) {
            sink.accept(partial.substring(0, nl));
            partial.delete(0, nl + 1);
          }
        } catch (IOException e) {
          // rotated away between the size check and the read: try again next round
        }
        continue;
      }
      try {
        time.sleep(POLL);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0;
    }
  }

  @Override
  public void close() {
    open = false;
  }
}
