package io.opsscaffold.manager.identity;

import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.link.SessionRegistry;
import io.opsscaffold.manager.link.StateWriter;
import java.time.Clock;
import java.util.logging.Logger;

/**
 * Revokes and deletes nodes: the credential first (so a reconnect is refused), then the live
 * stream, then the node's rows. The agents keep running on the host; only the manager forgets them.
 * Thread-safe.
 */
public final class NodeRemoval {
  private static final Logger LOG = Logger.getLogger(NodeRemoval.class.getName());

  private final IdentityRepository identities;
  private final FleetRepository fleet;
  private final SessionRegistry sessions;
  private final StateWriter writer;
  private final Clock clock;

  public NodeRemoval(
      IdentityRepository identities,
      FleetRepository fleet,
      SessionRegistry sessions,
      StateWriter writer,
      Clock clock) {
    this.identities = identities;
    this.fleet = fleet;
    this.sessions = sessions;
    this.writer = writer;
    this.clock = clock;
  }

  /** What a removal did. */
  public record Removed(String nodeId, boolean disconnected) {}

  /**
   * Revokes {@code nodeId}: its certificates are refused from now on; re-enrolling it needs an
   * admin's replace.
   *
   * @throws OpsException NOT_FOUND when the node was never enrolled nor seen
   */
  public Removed revoke(String nodeId, String reason, String by) {
    boolean enrolled = identities.revokeCredential(nodeId, clock.millis());
    return remove(nodeId, enrolled, "revoked by " + by + (reason.isBlank() ? "" : ": " + reason));
  }

  /**
   * Deletes {@code nodeId}: as {@link #revoke}, and its enrollment is forgotten, so the id may be
   * enrolled again with any valid token.
   */
  public Removed delete(String nodeId, String by) {
    identities.revokeCredential(nodeId, clock.millis());
    Removed removed = remove(nodeId, identities.credential(nodeId).isPresent(), "deleted by " + by);
    identities.deleteCredential(nodeId);
    return removed;
  }

  private Removed remove(String nodeId, boolean enrolled, String why) {
    boolean known = enrolled || fleet.findNode(nodeId).isPresent();
    if (!known) {
      throw OpsException.notFound("node '" + nodeId + "' is not known to the manager");
    }
    boolean cut = sessions.disconnect(nodeId, "node " + nodeId + " was " + why);
    writer.submit(new FleetWrite.NodeDeleted(nodeId));
    LOG.warning(
        () ->
            "node "
                + nodeId
                + " was "
                + why
                + (cut ? "; its stream is closed" : "")
                + "; it and its agents leave the fleet");
    return new Removed(nodeId, cut);
  }
}
