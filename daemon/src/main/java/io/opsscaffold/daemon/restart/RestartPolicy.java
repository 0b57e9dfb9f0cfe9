package io.opsscaffold.daemon.restart;

import java.time.Duration;
import java.util.List;

/**
 * When an agent that exited on its own is started again, and how fast.
 *
 * @param mode which exits are followed by a restart
 * @param initialDelay the first restart delay
 * @param multiplier growth of the delay per consecutive failure
 * @param maxDelay the largest delay (crash-looping agents are retried at this interval forever)
 * @param resetAfter a run at least this long forgets earlier failures
 * @param crashLoopAfter this many consecutive failures make a crash loop
 */
public record RestartPolicy(
    Mode mode,
    Duration initialDelay,
    double multiplier,
    Duration maxDelay,
    Duration resetAfter,
    int crashLoopAfter) {

  /**
   * Which exits nobody asked for are followed by a restart; {@link #configName} is its name in
   * daemon.yaml.
   */
  public enum Mode {
    /** Every exit. */
    ALWAYS("always"),
    /** Exits with a code other than 0. */
    ON_FAILURE("on-failure"),
    /** None: the agent stays stopped. */
    NEVER("never");

    private final String configName;

    Mode(String configName) {
      this.configName = configName;
    }

    public String configName() {
      return configName;
    }

    /** The names daemon.yaml accepts, in this order. */
    public static List<String> configNames() {
      return java.util.Arrays.stream(values()).map(Mode::configName).toList();
    }

    /** The mode named {@code name} in daemon.yaml; one of {@link #configNames()}. */
    public static Mode fromConfig(String name) {
      return java.util.Arrays.stream(values())
          .filter(m -> m.configName.equals(name))
          .findFirst()
          .orElseThrow(
              () ->
                  new IllegalArgumentException(
                      "restart policy '" + name + "' is not one of " + configNames()));
    }
  }

  /** The defaults: always, 1 s doubling to 5 min, reset after 10 min, crash loop after 5. */
  public static RestartPolicy defaults() {
    return new RestartPolicy(
        Mode.ALWAYS, Duration.ofSeconds(1), 2.0, Duration.ofMinutes(5), Duration.ofMinutes(10), 5);
  }

  /** Whether an exit with {@code exitCode} (that nobody asked for) calls for a restart. */
  public boolean wantsRestart(int exitCode) {
    return switch (mode) {
      case ALWAYS -> true;
      case ON_FAILURE -> exitCode != 0;
      case NEVER -> false;
    };
  }
}
