package io.opsscaffold.daemon.queries;

import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.status.v1.ProcessSample;
import io.opsscaffold.daemon.logs.AgentLogs;
import io.opsscaffold.daemon.monitor.HealthMonitor;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.time.Time;
import java.time.Duration;
import java.util.List;

/**
 * The reads the daemon answers both on its local API and for the manager through the link: the tail
 * of an agent's output and its resource history. Validates and names what is wrong with {@link
 * OpsException}. Thread-safe.
 */
public final class LocalQueries {
  /** Most lines a tail may ask for. */
  public static final int MAX_LINES = 1000;

  private static final Duration MAX_HISTORY = Duration.ofHours(24);

  private final io.opsscaffold.daemon.supervision.AgentDirectory agents;
  private final HealthMonitor monitor;
  private final AgentLogs logs;
  private final Time time;

  public LocalQueries(
      io.opsscaffold.daemon.supervision.AgentDirectory agents,
      HealthMonitor monitor,
      AgentLogs logs,
      Time time) {
    this.agents = agents;
    this.monitor = monitor;
    this.logs = logs;
    this.time = time;
  }

  /** The last {@code lines} lines (0 means {@code dflt}), oldest first. */
  public List<String> tail(String agentId, int lines, int dflt) {
    requireAgent(agentId);
    if (lines < 0 || lines > MAX_LINES) {
      throw OpsException.invalidArgument(
          "lines must be between 1 and " + MAX_LINES + " (got " + lines + ")");
    }
    return logs.tail(agentId, lines == 0 ? dflt : lines);
  }

  /** Samples within {@code window} (zero means 5 minutes), oldest first. */
  public List<ProcessSample> metrics(String agentId, Duration window) {
    requireAgent(agentId);
    Duration w = window.isZero() ? Duration.ofMinutes(5) : window;
    if (w.isNegative() || w.compareTo(MAX_HISTORY) > 0) {
      throw OpsException.invalidArgument(
          "duration must be between 1s and 24h (got " + w.toSeconds() + "s)");
    }
    return monitor.history(agentId).since(time.now(), w).stream()
        .map(LocalQueries::sample)
        .toList();
  }

  /**
   * A follower of the agent's output, for {@code run} on a thread of the caller's: {@code sink}
   * hears the last {@code lines} lines (0 to 1000), then each new one.
   */
  public io.opsscaffold.daemon.logs.LogFollower follower(
      String agentId, int lines, java.util.function.Consumer<String> sink) {
    requireAgent(agentId);
    if (lines < 0 || lines > MAX_LINES) {
      throw OpsException.invalidArgument(
          "lines must be between 0 and " + MAX_LINES + " (got " + lines + ")");
    }
    return new io.opsscaffold.daemon.logs.LogFollower(logs, agentId, lines, sink, time);
  }

  void requireAgent(String agentId) {
    if (agentId.isBlank()) {
      throw OpsException.invalidArgument("agent_id is required");
    }
    if (agents.runner(agentId).isEmpty()) {
      throw OpsException.notFound("agent '" + agentId + "' is not supervised by this daemon");
    }
  }

  public static ProcessSample sample(io.opsscaffold.daemon.monitor.ProcessSample s) {
    return ProcessSample.newBuilder()
        .setAt(Timestamps.fromMillis(s.at().toEpochMilli()))
        .setCpuPercent(s.cpuPercent())
        .setRssBytes(s.rssBytes())
        .setVirtualBytes(s.virtualBytes())
        .setThreads(s.threads())
        .setOpenFiles(s.openFiles())
        .setReadBytes(s.readBytes())
        .setWriteBytes(s.writeBytes())
        .build();
  }
}
