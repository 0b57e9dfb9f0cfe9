package io.opsscaffold.daemon.supervision;

import java.util.List;
import java.util.Optional;

/**
 * Where the daemon's agents are found by id: the {@link Supervisor}, or a fake in tests.
 * Thread-safe.
 */
public interface AgentDirectory {
  /** Every runner, in configuration order. */
  List<AgentRunner> runners();

  /** The runner of {@code agentId}, if that agent is supervised. */
  Optional<AgentRunner> runner(String agentId);
}
