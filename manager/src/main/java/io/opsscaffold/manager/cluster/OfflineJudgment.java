package io.opsscaffold.manager.cluster;

import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.manager.link.ConnectivityTracker;
import java.time.Duration;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Once per area, on its leader: which nodes go OFFLINE. Every end of a stream claim in etcd (a
 * manager released it, or the claim expired with its manager) starts the node's grace period on the
 * leader's {@link ConnectivityTracker}; on taking the lead, and after the claims were listed again,
 * every node the database calls connected that no manager claims gets one too, so a node whose end
 * happened while nobody led is judged as well.
 */
public final class OfflineJudgment {
  private static final Logger LOG = Logger.getLogger(OfflineJudgment.class.getName());

  private final EtcdStreams streams;
  private final ConnectivityTracker connectivity;
  private final FleetRepository repository;
  private volatile boolean leading;

  public OfflineJudgment(
      EtcdStreams streams, ConnectivityTracker connectivity, FleetRepository repository) {
    this.streams = streams;
    this.connectivity = connectivity;
    this.repository = repository;
    streams.listen(this::ended, this::resynced);
  }

  /** This manager leads, or no longer does. Never blocks. */
  public void leading(boolean now) {
    leading = now;
    if (now) {
      scanLater();
    } else {
      connectivity.stopJudging();
    }
  }

  private void ended(String nodeId, EtcdStreams.Holder holder) {
    if (leading) {
      connectivity.judge(nodeId, holder.sessionId());
    }
  }

  private void resynced() {
    if (leading) {
      scanLater();
    }
  }

  /** On a virtual thread: the scan reads the database. */
  private void scanLater() {
    Thread.ofVirtual().name("offline-scan").start(this::scan);
  }

  private void scan() {
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!streams.synced() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      if (!streams.synced() || !leading) {
        return;
      }
      int unclaimed = 0;
      for (String nodeId : repository.onlineNodeIds()) {
        if (streams.holder(nodeId).isEmpty()) {
          unclaimed++;
          connectivity.judge(
              nodeId, repository.findNode(nodeId).map(NodeRecord::sessionId).orElse(""));
        }
      }
      if (unclaimed > 0) {
        int n = unclaimed;
        LOG.info(
            () ->
                n
                    + " node(s) stored as connected are held by no manager of the area; OFFLINE"
                    + " after the grace period unless their daemons connect");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "could not scan for unclaimed nodes", e);
    }
  }
}
