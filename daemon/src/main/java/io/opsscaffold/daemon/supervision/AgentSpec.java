package io.opsscaffold.daemon.supervision;

import io.opsscaffold.daemon.restart.RestartPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One supervised agent as configured in {@code daemon.yaml}.
 *
 * @param heartbeatTimeout how long the agent may go without a heartbeat; zero when it sends none
 * @param stopTimeout how long a stop waits after SIGTERM before SIGKILL of the process group
 * @param autostart whether the daemon starts it on its own start
 */
public record AgentSpec(
    String id,
    String type,
    String command,
    List<String> args,
    Path workingDir,
    Map<String, String> env,
    RestartPolicy restart,
    Duration heartbeatTimeout,
    Duration stopTimeout,
    boolean autostart) {}
