package io.opsscaffold.manager.operations;

import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Another manager of the area, holding a node's stream that this manager does not hold: a command
 * for that node is relayed there ({@code cluster.PeerRelay}), so any manager answers any call.
 * Methods never block: results arrive on the relay's transport threads.
 */
public interface Relay {
  /** Whether another manager holds the node's stream now, as far as this manager knows. */
  boolean heldElsewhere(String nodeId);

  /**
   * Relays a command to the node's manager; completes with the daemon's result, or exceptionally
   * (UNAVAILABLE when that manager cannot be reached or no longer holds the stream).
   */
  CompletableFuture<CommandResult> send(
      String nodeId, Command command, String description, Duration wait);

  /** Relays a log follow; run the returned handle to stop it. */
  Runnable follow(String nodeId, Command command, CommandRouter.Follow follow);

  /** A manager alone. */
  Relay NONE =
      new Relay() {
        @Override
        public boolean heldElsewhere(String nodeId) {
          return false;
        }

        @Override
        public CompletableFuture<CommandResult> send(
            String nodeId, Command command, String description, Duration wait) {
          throw new IllegalStateException("no other manager");
        }

        @Override
        public Runnable follow(String nodeId, Command command, CommandRouter.Follow follow) {
          throw new IllegalStateException("no other manager");
        }
      };
}
