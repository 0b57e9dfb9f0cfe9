package io.opsscaffold.daemon.supervision;

import io.opsscaffold.daemon.restart.RestartPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One supervised agent as configured in {@code daemon.yaml}.
 *
 * @param health the health checks (heartbeat timeout, probe, resource limits, progress)
 * @param stopTimeout how long a stop waits after the stop signal before SIGKILL of the process
 *     group
 * @param autostart whether the daemon starts it on its own start
 * @param startSeconds how long a new process must stay up before its start counts as successful
 * @param stopSignal the signal a stop sends first ("TERM", "INT", "QUIT", "HUP", "USR1", "USR2")
 * @param log how its output file is rotated
 * @param config where the agent's configuration files live (the target of config pushes) and how it
 *     takes a new configuration
 * @param runAs the user and group the agent runs as, when not the daemon's
 */
public record AgentSpec(
    String id,
    String type,
    String command,
    List<String> args,
    Path workingDir,
    Map<String, String> env,
    RestartPolicy restart,
    io.opsscaffold.daemon.health.HealthPolicy health,
    Duration stopTimeout,
    boolean autostart,
    Duration startSeconds,
    String stopSignal,
    io.opsscaffold.daemon.logs.LogPolicy log,
    io.opsscaffold.daemon.supervision.ConfigPolicy config,
    java.util.Optional<RunAs> runAs) {

  /** A spec run as the daemon's own user. */
  public AgentSpec(
      String id,
      String type,
      String command,
      List<String> args,
      Path workingDir,
      Map<String, String> env,
      RestartPolicy restart,
      io.opsscaffold.daemon.health.HealthPolicy health,
      Duration stopTimeout,
      boolean autostart,
      Duration startSeconds,
      String stopSignal,
      io.opsscaffold.daemon.logs.LogPolicy log,
      io.opsscaffold.daemon.supervision.ConfigPolicy config) {
    this(
        id,
        type,
        command,
        args,
        workingDir,
        env,
        restart,
        health,
        stopTimeout,
        autostart,
        startSeconds,
        stopSignal,
        log,
        config,
        java.util.Optional.empty());
  }

  /** A spec whose config pushes (if {@code configDir} is set) restart the agent. */
  public AgentSpec(
      String id,
      String type,
      String command,
      List<String> args,
      Path workingDir,
      Map<String, String> env,
      RestartPolicy restart,
      io.opsscaffold.daemon.health.HealthPolicy health,
      Duration stopTimeout,
      boolean autostart,
      Duration startSeconds,
      String stopSignal,
      io.opsscaffold.daemon.logs.LogPolicy log,
      java.util.Optional<Path> configDir) {
    this(
        id,
        type,
        command,
        args,
        workingDir,
        env,
        restart,
        health,
        stopTimeout,
        autostart,
        startSeconds,
        stopSignal,
        log,
        io.opsscaffold.daemon.supervision.ConfigPolicy.restartIn(configDir));
  }

  /** The agent's config directory, when it takes config pushes. */
  public java.util.Optional<Path> configDir() {
    return config.dir();
  }

  /** The stop signals a spec may name. */
  public static final java.util.List<String> STOP_SIGNALS =
      java.util.List.of("TERM", "INT", "QUIT", "HUP", "USR1", "USR2");
}
