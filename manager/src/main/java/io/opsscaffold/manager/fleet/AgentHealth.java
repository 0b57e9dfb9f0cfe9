package io.opsscaffold.manager.fleet;

import java.util.Locale;

/**
 * An agent's health as its daemon's checks reported it (docs/ARCHITECTURE.md, "Status model").
 * Stored by name.
 */
public enum AgentHealth {
  /** Not checked yet, or a state not known to this version. */
  UNKNOWN,
  HEALTHY,
  DEAD,
  NO_HEARTBEAT,
  OVER_THRESHOLD,
  UNHEALTHY_PROBE,
  NO_DATA;

  /** The health named {@code name} (as stored, or the wire's name without its prefix). */
  public static AgentHealth parse(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return UNKNOWN;
    }
  }
}
