package io.opsscaffold.daemon.supervision;

/**
 * Where an agent's process is in its life, as its runner sees it (docs/ARCHITECTURE.md, "Status
 * model"): STOPPED → STARTING → RUNNING → STOPPING → STOPPED; RUNNING → RESTARTING (waiting out the
 * backoff) → STARTING; CRASH_LOOP (too many failures in a row, still retried at the capped delay);
 * STARTING → FAILED (could not start) → STARTING (retry).
 */
public enum Lifecycle {
  STOPPED,
  STARTING,
  RUNNING,
  STOPPING,
  RESTARTING,
  CRASH_LOOP,
  FAILED
}
