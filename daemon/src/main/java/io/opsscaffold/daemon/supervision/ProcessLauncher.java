package io.opsscaffold.daemon.supervision;

import java.io.IOException;

/** Starts agent processes; injected so that supervision is testable without real processes. */
public interface ProcessLauncher {
  /**
   * Starts {@code spec}'s command in a new process group.
   *
   * @throws IOException when it cannot be started (missing binary, permission, bad directory)
   */
  RunningProcess launch(AgentSpec spec) throws IOException;
}
