package io.opsscaffold.manager.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Election;
import io.etcd.jetcd.election.LeaderKey;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The area's leader election (etcd's election API on {@code leaders/<area>}): the work that must
 * happen once per area runs on the one manager that holds it, and moves when that manager dies.
 *
 * <p>One platform thread, {@code leader-election}, campaigns with a lease of its own, tells the
 * listener {@code true} once elected, and {@code false} as soon as the lease can no longer be taken
 * as held ({@link KeptLease}): before etcd could elect anyone else. Then it campaigns again. A
 * clean {@link #close} resigns, so another manager takes over at once rather than after the lease's
 * TTL.
 */
public final class AreaLeadership implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AreaLeadership.class.getName());

  private final Etcd etcd;
  private final ClusterSettings settings;
  private final String managerId;
  private final Consumer<Boolean> listener;
  private final Thread thread;
  private volatile boolean closed;
  private volatile boolean leader;

  /**
   * @param listener told {@code true} when this manager becomes the leader and {@code false} when
   *     it stops being one; called on the election thread, must not block
   */
  public AreaLeadership(
      Etcd etcd, ClusterSettings settings, String managerId, Consumer<Boolean> listener) {
    this.etcd = etcd;
    this.settings = settings;
    this.managerId = managerId;
    this.listener = listener;
    this.thread = Thread.ofPlatform().name("leader-election").daemon().unstarted(this::run);
  }

  /** The election's name: one per area. */
  public static String electionName(String area) {
    return "leaders/" + area;
  }

  public void start() {
    thread.start();
  }

  /** Whether this manager leads its area now. */
  public boolean leader() {
    return leader;
  }

  private void run() {
    Election election = etcd.client().getElectionClient();
    ByteSequence name = Etcd.bytes(electionName(settings.area()));
    ByteSequence proposal = Etcd.bytes(managerId);
    boolean warned = false;
    while (!closed) {
      KeptLease lease = null;
      LeaderKey key = null;
      try {
        lease = KeptLease.grant(etcd, settings.leaseTtl(), settings.dialTimeout());
        CompletableFuture<io.etcd.jetcd.election.CampaignResponse> campaign =
            election.campaign(name, lease.id(), proposal);
        while (key == null && !closed && lease.held()) {
          try {
            key = campaign.get(200, TimeUnit.MILLISECONDS).getLeader();
          } catch (TimeoutException e) {
            // still waiting for the current leader's key to go
          }
        }
        if (key == null) {
          campaign.cancel(true);
          continue;
        }
        warned = false;
        setLeader(true);
        while (!closed && lease.held()) {
          Thread.sleep(50);
        }
        setLeader(false);
        if (closed) {
          election.resign(key).get(2, TimeUnit.SECONDS);
        } else {
          LOG.warning(
              "lost the lead of area "
                  + settings.area()
                  + ": its lease could not be renewed in time (etcd unreachable?); campaigning"
                  + " again");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        if (!closed && !warned) {
          warned = true;
          LOG.log(
              Level.WARNING,
              "cannot campaign for the lead of area "
                  + settings.area()
                  + " (etcd "
                  + settings.endpoints()
                  + "): "
                  + e
                  + "; retrying every second");
        }
        setLeader(false);
        pause();
      } finally {
        if (lease != null) {
          lease.close();
        }
      }
    }
  }

  private void setLeader(boolean now) {
    if (leader != now) {
      leader = now;
      LOG.info(
          () ->
              "manager "
                  + managerId
                  + (now ? " leads" : " no longer leads")
                  + " area "
                  + settings.area());
      listener.accept(now);
    }
  }

  private void pause() {
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Resigns (when leading) and stops campaigning; waits for the election thread (at most 3 s). */
  @Override
  public void close() {
    closed = true;
    try {
      thread.join(3000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
