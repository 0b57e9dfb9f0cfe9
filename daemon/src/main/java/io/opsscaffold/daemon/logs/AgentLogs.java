package io.opsscaffold.daemon.logs;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The agents' output files: {@code <dir>/<agent-id>.log}, appended to by the kernel (the agent's
 * stdout and stderr are opened in append mode on the file), rotated here by size.
 *
 * <p>Rotation is copy-then-truncate: {@code .log} is copied to {@code .log.1} (older backups
 * shifted, the oldest dropped) and truncated in place. The agent keeps its file descriptor and,
 * writing in append mode, goes on at the new end: it never blocks on the daemon, and survives a
 * daemon restart. The price is that lines written between the copy and the truncation (a
 * millisecond or so) can be lost. Thread-safe: rotations of one agent are serialized.
 */
public final class AgentLogs {
  private static final Logger LOG = Logger.getLogger(AgentLogs.class.getName());
  private static final int TAIL_CHUNK = 8192;

  private final Path dir;
  private final Map<String, LogPolicy> policies = new ConcurrentHashMap<>();

  public AgentLogs(Path dir) {
    this.dir = dir;
  }

  public Path dir() {
    return dir;
  }

  /** The current output file of {@code agentId}. */
  public Path file(String agentId) {
    return dir.resolve(agentId + ".log");
  }

  private Path backup(String agentId, int n) {
    return dir.resolve(agentId + ".log." + n);
  }

  public void register(String agentId, LogPolicy policy) {
    policies.put(agentId, policy);
  }

  /** Rotates every registered agent's file that has grown past its limit. Called periodically. */
  public void rotateOversized() {
    policies.forEach(
        (id, policy) -> {
          try {
            if (Files.size(file(id)) > policy.maxBytes()) {
              rotate(id, policy);
            }
          } catch (java.nio.file.NoSuchFileException e) {
            // not started yet
          } catch (IOException e) {
            LOG.warning(() -> "rotating the log of " + id + " failed: " + e);
          }
        });
  }

  /** Rotates {@code agentId}'s file now. */
  public synchronized void rotate(String agentId, LogPolicy policy) throws IOException {
    Path current = file(agentId);
    if (policy.backups() <= 0) {
      truncate(current);
      return;
    }
    Files.deleteIfExists(backup(agentId, policy.backups()));
    for (int n = policy.backups() - 1; n >= 1; n--) {
      if (Files.exists(backup(agentId, n))) {
        Files.move(backup(agentId, n), backup(agentId, n + 1), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.copy(current, backup(agentId, 1), StandardCopyOption.REPLACE_EXISTING);
    truncate(current);
  }

  private static void truncate(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(0);
    }
  }

  /**
   * The last {@code n} lines of the agent's output, oldest first, reading back through the rotated
   * files when the current one holds fewer. A last line without a newline counts as a line.
   */
  public List<String> tail(String agentId, int n) {
    Deque<String> lines = new ArrayDeque<>(n);
    List<Path> files = new ArrayList<>();
    files.add(file(agentId));
    for (int i = 1; i <= 100 && Files.exists(backup(agentId, i)); i++) {
      files.add(backup(agentId, i));
    }
    for (Path f : files) {
      if (lines.size() >= n) {
        break;
      }
      try {
        List<String> fromFile = lastLines(f, n - lines.size());
        for (int i = fromFile.size() - 1; i >= 0; i--) {
          lines.addFirst(fromFile.get(i));
        }
      } catch (IOException e) {
        // a file rotated away meanwhile: what was read stands
      }
    }
    return new ArrayList<>(lines);
  }

  /** The last {@code n} lines of one file, read backwards in chunks. */
  static List<String> lastLines(Path file, int n) throws IOException {
    if (n <= 0 || !Files.exists(file)) {
      return List.of();
    }
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      long end = raf.length();
      long pos = end;
      List<byte[]> chunks = new ArrayList<>();
      int newlines = 0;
      boolean trailingNewline = false;
      if (end > 0) {
        raf.seek(end - 1);
        trailingNewline = raf.read() == '\n';
      }
      int needed = n + (trailingNewline ? 1 : 0);
      while (pos > 0 && newlines < needed) {
        int len = (int) Math.min(TAIL_CHUNK, pos);
        pos -= len;
        byte[] buf = new byte[len];
        raf.seek(pos);
        raf.readFully(buf);
        chunks.add(0, buf);
        for (byte b : buf) {
          if (b == '\n') {
            newlines++;
          }
        }
      }
      int total = chunks.stream().mapToInt(c -> c.length).sum();
      byte[] all = new byte[total];
      int off = 0;
      for (byte[] c : chunks) {
        System.arraycopy(c, 0, all, off, c.length);
        off += c.length;
      }
      String text = new String(all, StandardCharsets.UTF_8);
      if (trailingNewline) {
        text = text.substring(0, text.length() - 1);
      }
      if (text.isEmpty()) {
        return List.of();
      }
      String[] split = text.split("\n", -1);
      int from = Math.max(0, split.length - n);
      // When the read started mid-file, the first piece may be a partial line: drop it unless
      // the read reached the start of the file.
      if (pos > 0 && from == 0 && split.length > 0) {
        from = 1;
      }
      return List.of(split).subList(from, split.length);
    }
  }
}
