package io.opsscaffold.manager.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.opsscaffold.manager.link.StreamClaims;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Who holds each node's stream in the area, recorded in etcd: the key {@code streams/<area>/<node>}
 * holds {@code <manager id> <session id>} and is attached to the holding manager's lease, so a
 * crashed manager's claims expire by themselves.
 *
 * <p>The value is {@code <manager id> <session id> <base URL>}.
 *
 * <p>Writing is level-triggered, like a Kubernetes controller: the {@code stream-claims} thread
 * makes etcd match the sessions this manager holds ({@code held}), at every claim and release and
 * every second, so a write lost while etcd was away is made when it returns, and a lease that
 * lapsed is replaced and every claim written again under the new one. A release deletes the key
 * only while it still names this manager's session (a transaction), never a newer claim by another.
 *
 * <p>Reading: every claim of the area is kept in memory from one listing and a watch that starts at
 * the listing's revision, so nothing is missed between them. An ended claim (released, or expired
 * with its manager) is told to the listener with the session it named. When the watch fails (etcd
 * away, history compacted), the claims are listed and watched again, and the resync listener is
 * told: some ends may have gone unseen.
 */
public final class EtcdStreams implements StreamClaims, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(EtcdStreams.class.getName());
  private static final Duration CHECK = Duration.ofSeconds(1);

  /**
   * A claim: the manager holding a node's stream, that stream's session, and the base URL the
   * manager is reached at by the area's other managers.
   */
  public record Holder(String managerId, String sessionId, String apiUrl) {
    static Holder parse(String value) {
      String[] parts = value.split(" ", 3);
      return new Holder(
          parts[0], parts.length > 1 ? parts[1] : "", parts.length > 2 ? parts[2] : "");
    }

    String value() {
      return managerId + " " + sessionId + " " + apiUrl;
    }
  }

  private volatile String apiUrl = "";

  /** The base URL this manager's claims name; set before the server listens for daemons. */
  public void advertise(String apiUrl) {
    this.apiUrl = apiUrl;
  }

  private final Etcd etcd;
  private final ClusterSettings settings;
  private final String managerId;
  private final String prefix;
  private final Supplier<Map<String, String>> held;
  private final Scheduler thread;
  private final Map<String, Holder> holders = new ConcurrentHashMap<>();
  private volatile BiConsumer<String, Holder> ended = (n, h) -> {};
  private volatile Runnable resynced = () -> {};
  private volatile boolean synced;
  // Owned by the thread.
  private KeptLease lease;
  private final Map<String, String> written = new HashMap<>();
  private Watch.Watcher watcher;
  private boolean unreachable;

  /**
   * @param held the session of each node whose stream this manager holds (called on the claims
   *     thread)
   */
  public EtcdStreams(
      Etcd etcd,
      ClusterSettings settings,
      String managerId,
      Supplier<Map<String, String>> held,
      Time time) {
    this.etcd = etcd;
    this.settings = settings;
    this.managerId = managerId;
    this.prefix = "streams/" + settings.area() + "/";
    this.held = held;
    this.thread = time.scheduler("stream-claims");
  }

  /**
   * @param ended told the node and the claim that ended (released or expired); called on etcd's
   *     watch thread, must not block
   * @param resynced told after the claims were listed again (ends may have been missed)
   */
  public void listen(BiConsumer<String, Holder> ended, Runnable resynced) {
    this.ended = ended;
    this.resynced = resynced;
  }

  /**
   * Lists the area's claims and watches them (waiting at most {@code etcd.dial-timeout}), then
   * keeps this manager's claims written. Returns whether the listing succeeded: when etcd is away,
   * it is retried every second.
   */
  public boolean start() {
    boolean listed;
    try {
      listed = thread.submit(this::relist).get();
    } catch (Exception e) {
      listed = false;
    }
    thread.scheduleWithFixedDelay(CHECK, CHECK, this::tick);
    return listed;
  }

  /** Whether the claims in memory follow etcd now. */
  public boolean synced() {
    return synced;
  }

  /** The holder of the node's stream, as last seen in etcd. */
  public Optional<Holder> holder(String nodeId) {
    return Optional.ofNullable(holders.get(nodeId));
  }

  /** Whether another manager holds the node's stream, as last seen. */
  public boolean heldElsewhere(String nodeId) {
    Holder h = holders.get(nodeId);
    return h != null && !h.managerId().equals(managerId);
  }

  @Override
  public void claimed(String nodeId, String sessionId) {
    thread.execute(this::reconcile);
  }

  @Override
  public void released(String nodeId, String sessionId) {
    thread.execute(this::reconcile);
  }

  private void tick() {
    if (!synced) {
      relist();
    }
    reconcile();
  }

  /** Lists every claim of the area, then watches from the next revision. */
  private boolean relist() {
    try {
      if (watcher != null) {
        watcher.close();
        watcher = null;
      }
      GetResponse all =
          etcd.client()
              .getKVClient()
              .get(bytes(prefix), GetOption.builder().isPrefix(true).build())
              .get(settings.dialTimeout().toMillis(), TimeUnit.MILLISECONDS);
      Map<String, Holder> now = new HashMap<>();
      for (KeyValue kv : all.getKvs()) {
        now.put(node(kv), Holder.parse(kv.getValue().toString(StandardCharsets.UTF_8)));
      }
      boolean wasSynced = synced;
      holders.keySet().retainAll(now.keySet());
      holders.putAll(now);
      watcher =
          etcd.client()
              .getWatchClient()
              .watch(
                  bytes(prefix),
                  WatchOption.builder()
                      .isPrefix(true)
                      .withPrevKV(true)
                      .withRevision(all.getHeader().getRevision() + 1)
                      .build(),
                  Watch.listener(
                      r -> r.getEvents().forEach(this::event),
                      e -> {
                        synced = false;
                        LOG.warning(
                            "the watch on " + prefix + " failed (" + e + "); listing again");
                      }));
      synced = true;
      if (!wasSynced) {
        resynced.run();
      }
      return true;
    } catch (Exception e) {
      noteUnreachable(e);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      return false;
    }
  }

  private void event(WatchEvent e) {
    String node = node(e.getKeyValue());
    if (e.getEventType() == WatchEvent.EventType.PUT) {
      holders.put(node, Holder.parse(e.getKeyValue().getValue().toString(StandardCharsets.UTF_8)));
    } else if (e.getEventType() == WatchEvent.EventType.DELETE) {
      holders.remove(node);
      KeyValue prev = e.getPrevKV();
      Holder was =
          prev == null || prev.getValue().isEmpty()
              ? new Holder("", "", "")
              : Holder.parse(prev.getValue().toString(StandardCharsets.UTF_8));
      ended.accept(node, was);
    }
  }

  /** Makes etcd hold exactly this manager's claims. */
  private void reconcile() {
    try {
      if (lease == null || !lease.held()) {
        if (lease != null) {
          lease.close();
        }
        lease = null;
        written.clear();
        lease = KeptLease.grant(etcd, settings.leaseTtl(), settings.dialTimeout());
      }
      // What etcd should hold for this manager: node -> claim value.
      Map<String, String> now = new HashMap<>();
      held.get()
          .forEach(
              (node, session) -> now.put(node, new Holder(managerId, session, apiUrl).value()));
      for (Map.Entry<String, String> e : now.entrySet()) {
        if (!e.getValue().equals(written.get(e.getKey()))) {
          etcd.client()
              .getKVClient()
              .put(
                  bytes(prefix + e.getKey()),
                  bytes(e.getValue()),
                  PutOption.builder().withLeaseId(lease.id()).build())
              .get(settings.dialTimeout().toMillis(), TimeUnit.MILLISECONDS);
          written.put(e.getKey(), e.getValue());
        }
      }
      for (Map.Entry<String, String> e : Map.copyOf(written).entrySet()) {
        if (!now.containsKey(e.getKey())) {
          ByteSequence key = bytes(prefix + e.getKey());
          etcd.client()
              .getKVClient()
              .txn()
              .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.value(bytes(e.getValue()))))
              .Then(Op.delete(key, DeleteOption.DEFAULT))
              .commit()
              .get(settings.dialTimeout().toMillis(), TimeUnit.MILLISECONDS);
          written.remove(e.getKey());
        }
      }
      if (unreachable) {
        unreachable = false;
        LOG.info("stream claims written to etcd again (" + written.size() + " held here)");
      }
    } catch (Exception e) {
      noteUnreachable(e);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void noteUnreachable(Exception e) {
    if (!unreachable) {
      unreachable = true;
      LOG.warning(
          "cannot keep the stream claims of area "
              + settings.area()
              + " in etcd "
              + settings.endpoints()
              + " ("
              + e
              + "); streams are served on, and the claims are retried every second");
    }
  }

  private String node(KeyValue kv) {
    return kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length());
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  /**
   * Revokes the lease, so this manager's claims go at once (the streams end with the server), and
   * stops watching.
   */
  @Override
  public void close() {
    try {
      thread
          .submit(
              () -> {
                if (watcher != null) {
                  watcher.close();
                }
                if (lease != null) {
                  lease.close();
                }
                return null;
              })
          .get(3000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.info("stream claims did not close cleanly (" + e + ")");
    } finally {
      thread.close();
    }
  }
}
