package io.opsscaffold.manager.fleet;

import java.util.Locale;

/**
 * An agent's lifecycle as its daemon reported it (docs/ARCHITECTURE.md, "Status model"). Stored by
 * name; {@link #UNSPECIFIED} stands for a state never reported or not known to this version.
 */
public enum AgentLifecycle {
  UNSPECIFIED,
  STOPPED,
  STARTING,
  RUNNING,
  STOPPING,
  RESTARTING,
  CRASH_LOOP,
  FAILED;

  /** The lifecycle named {@code name} (as stored, or the wire's name without its prefix). */
  public static AgentLifecycle parse(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return UNSPECIFIED;
    }
  }
}
