package io.opsscaffold.daemon.health;

/** What the daemon's checks say of an agent (docs/ARCHITECTURE.md, "Status model"). */
public enum Health {
  /** Not checked yet. */
  UNKNOWN,
  HEALTHY,
  /** The process is gone. */
  DEAD,
  /** The last heartbeat is older than the heartbeat timeout. */
  NO_HEARTBEAT,
  /** CPU or memory above its limit for the sustain period. */
  OVER_THRESHOLD,
  /** The HTTP probe failed the configured number of times in a row. */
  UNHEALTHY_PROBE,
  /** Heartbeats go on but the progress counter stopped moving. */
  NO_DATA
}
