package io.opsscaffold.daemon.supervision;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Where an agent's configuration files live and how a pushed configuration takes effect.
 *
 * @param dir the config directory; empty when the agent takes no pushes (its daemon.yaml entry has
 *     no {@code remote-config: true})
 * @param reload how the agent takes new files
 * @param reloadUrl the agent's reload endpoint, for {@link Reload#HTTP}
 * @param verify how long the agent must stay up on the new files before the push counts as applied
 */
public record ConfigPolicy(
    Optional<Path> dir, Reload reload, Optional<URI> reloadUrl, Duration verify) {
  /**
   * How an agent takes a pushed configuration; {@code name().toLowerCase()} is its name in
   * daemon.yaml.
   */
  public enum Reload {
    /** The agent is restarted. */
    RESTART,
    /** A POST to the agent's reload URL; a 2xx answer means it took the files. */
    HTTP,
    /** Nothing: the agent watches its files itself. */
    NONE;

    /** The names daemon.yaml accepts, in this order. */
    public static List<String> configNames() {
      return java.util.Arrays.stream(values())
          .map(r -> r.name().toLowerCase(java.util.Locale.ROOT))
          .toList();
    }
  }

  /** Pushes into {@code dir}, restarting the agent, verified for 2 s. */
  public static ConfigPolicy restartIn(Optional<Path> dir) {
    return new ConfigPolicy(dir, Reload.RESTART, Optional.empty(), Duration.ofSeconds(2));
  }
}
