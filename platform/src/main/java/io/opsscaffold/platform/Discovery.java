package io.opsscaffold.platform;

import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.opsscaffold.api.compat.controller.v1.ControllerRegistration;
import io.opsscaffold.manager.cluster.Etcd;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The controllers registered under the watch prefix, as Kubernetes' informers keep objects: one
 * listing, then a watch from the listing's next revision, so no change between the two is missed.
 * When the watch fails (etcd away, history compacted) the prefix is listed and watched again; until
 * then the last view is kept. A record that is not a Controller is logged once and left out.
 * Thread-safe: readers get a snapshot.
 */
final class Discovery implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Discovery.class.getName());

  /** A controller as registered, with the key it is under. */
  record Registered(String key, ControllerRegistration record) {
    String area() {
      return record.getArea();
    }

    String id() {
      return record.getId();
    }

    /**
     * Online, and heard of within {@code ttl}. While etcd cannot be followed ({@code synced} false)
     * a record's age says nothing of its controller (it could not have been rewritten), so only its
     * status counts.
     */
    boolean usable(Clock clock, Duration ttl, boolean synced) {
      return "online".equals(record.getStatus())
          && (!synced
              || !record.hasLastHeartbeat()
              || clock.millis() - Timestamps.toMillis(record.getLastHeartbeat()) <= ttl.toMillis());
    }
  }

  private final Etcd etcd;
  private final String prefix;
  private final Duration dialTimeout;
  private final Runnable changed;
  private final ScheduledExecutorService thread =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("discovery").daemon(true).unstarted(r));
  private final Map<String, Registered> byKey = new TreeMap<>();
  private final java.util.Set<String> areasSeen = new java.util.TreeSet<>();
  private final java.util.Set<String> malformed = new java.util.HashSet<>();
  private volatile boolean synced;
  private volatile boolean warned;
  private Watch.Watcher watcher;

  /**
   * @param changed told (on the discovery's or etcd's thread; must not block) after every change
   */
  Discovery(Etcd etcd, String prefix, Duration dialTimeout, Runnable changed) {
    this.etcd = etcd;
    this.prefix = prefix;
    this.dialTimeout = dialTimeout;
    this.changed = changed;
  }

  /** Lists now (returns whether etcd answered), then keeps the view in step. */
  boolean start() {
    boolean listed = relist();
    thread.scheduleWithFixedDelay(
        () -> {
          if (!synced) {
            relist();
          }
        },
        1,
        1,
        TimeUnit.SECONDS);
    return listed;
  }

  /** Whether the view follows etcd now (listed, and the watch has not failed since). */
  boolean synced() {
    return synced;
  }

  /** Every controller registered now, ordered by area then id. */
  synchronized List<Registered> all() {
    List<Registered> out = new ArrayList<>(byKey.values());
    out.sort(Comparator.comparing(Registered::area).thenComparing(Registered::id));
    return out;
  }

  /** Every area a controller was ever seen for, since this platform started. */
  synchronized List<String> areas() {
    return List.copyOf(areasSeen);
  }

  private boolean relist() {
    try {
      synchronized (this) {
        if (watcher != null) {
          watcher.close();
          watcher = null;
        }
      }
      GetResponse all =
          etcd.client()
              .getKVClient()
              .get(bytes(prefix), GetOption.builder().isPrefix(true).build())
              .get(dialTimeout.toMillis(), TimeUnit.MILLISECONDS);
      synchronized (this) {
        byKey.clear();
        for (KeyValue kv : all.getKvs()) {
          put(kv);
        }
        watcher =
            etcd.client()
                .getWatchClient()
                .watch(
                    bytes(prefix),
                    WatchOption.builder()
                        .isPrefix(true)
                        .withRevision(all.getHeader().getRevision() + 1)
                        .build(),
                    Watch.listener(
                        r -> {
                          synchronized (this) {
                            r.getEvents().forEach(this::event);
                          }
                          changed.run();
                        },
                        e -> {
                          synced = false;
                          LOG.warning(
                              "the watch on " + prefix + " failed (" + e + "); listing again");
                        }));
      }
      synced = true;
      if (warned) {
        warned = false;
        LOG.info(() -> "etcd answers again; following " + prefix);
      }
      changed.run();
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      synced = false;
      if (!warned) {
        warned = true;
        LOG.warning(
            "etcd did not list "
                + prefix
                + " ("
                + e
                + "); serving the controllers seen before, retrying every second");
      }
      return false;
    }
  }

  private void event(WatchEvent e) {
    if (e.getEventType() == WatchEvent.EventType.PUT) {
      put(e.getKeyValue());
    } else if (e.getEventType() == WatchEvent.EventType.DELETE) {
      byKey.remove(e.getKeyValue().getKey().toString(StandardCharsets.UTF_8));
    }
  }

  private void put(KeyValue kv) {
    String key = kv.getKey().toString(StandardCharsets.UTF_8);
    try {
      ControllerRegistration.Builder b = ControllerRegistration.newBuilder();
      JsonFormat.parser()
          .ignoringUnknownFields()
          .merge(kv.getValue().toString(StandardCharsets.UTF_8), b);
      if (b.getArea().isBlank() || b.getId().isBlank()) {
        throw new IllegalArgumentException("no area or id");
      }
      byKey.put(key, new Registered(key, b.build()));
      areasSeen.add(b.getArea());
      malformed.remove(key);
    } catch (Exception ex) {
      byKey.remove(key);
      if (malformed.add(key)) {
        LOG.warning(
            "etcd key " + key + " is not a Controller record; left out (" + ex.getMessage() + ")");
      }
    }
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    thread.shutdownNow();
    synchronized (this) {
      if (watcher != null) {
        watcher.close();
      }
    }
  }
}
