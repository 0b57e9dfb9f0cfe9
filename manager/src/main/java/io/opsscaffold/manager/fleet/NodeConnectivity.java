package io.opsscaffold.manager.fleet;

/**
 * Whether a node's daemon counts as connected (docs/ARCHITECTURE.md, "Status model"). Stored by
 * name.
 */
public enum NodeConnectivity {
  /** Its stream is up, or ended less than the offline grace ago. */
  ONLINE,
  /** Its stream has been gone for the offline grace. */
  OFFLINE,
  /**
   * Stored as ONLINE by an earlier run of the manager, not reconnected since this one started:
   * nothing is judged from it (availability UNKNOWN, no alert) until its daemon resyncs (ONLINE) or
   * the offline grace passes (OFFLINE).
   */
  UNCONFIRMED
}
