package io.opsscaffold.daemon.supervision;

import io.opentelemetry.context.Context;

/**
 * Hears every state change of every agent. Called on the agent's runner thread, in the order the
 * changes happened; must not block (the link outbox only records the newest snapshot).
 */
public interface StateListener {
  /** {@code cause} carries the trace of the operation or event behind the change, if any. */
  void changed(AgentSnapshot snapshot, Context cause);

  /** {@code agentId} is no longer supervised (removed by a config reload). */
  default void removed(String agentId) {}
}
