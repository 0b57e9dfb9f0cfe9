package io.opsscaffold.daemon.logs;

/**
 * How an agent's output file is kept.
 *
 * @param maxBytes rotate when the file grows past this size
 * @param backups how many rotated files to keep ({@code <id>.log.1} is the newest)
 */
public record LogPolicy(long maxBytes, int backups) {
  /** 50 MB × 5, like the defaults of most supervisors. */
  public static LogPolicy defaults() {
    return new LogPolicy(50L * 1024 * 1024, 5);
  }
}
