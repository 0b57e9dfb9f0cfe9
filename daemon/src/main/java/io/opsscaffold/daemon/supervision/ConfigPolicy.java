package io.opsscaffold.daemon.supervision;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Where an agent's configuration files live and how a pushed configuration takes effect.
 *
 * @param dir the config directory; empty when the agent takes no pushes
 * @param reload "restart" (restart the agent), "http" (POST to {@code reloadUrl}) or "none" (the
 *     agent watches its files itself)
 * @param reloadUrl the agent's reload endpoint, for "http"
 * @param verify how long the agent must stay up on the new files before the push counts as applied
 */
public record ConfigPolicy(Optional<Path> dir, String reload, Optional<URI> reloadUrl, Duration verify) {
  /** The reload modes a spec may name. */
  public static final List<String> RELOADS = List.of("restart", "http", "none");

  /** Pushes into {@code dir}, restarting the agent, verified for 2 s. */
  public static ConfigPolicy restartIn(Optional<Path> dir) {
    return new ConfigPolicy(dir, "restart", Optional.empty(), Duration.ofSeconds(2));
  }
}
