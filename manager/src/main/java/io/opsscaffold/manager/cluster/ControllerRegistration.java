package io.opsscaffold.manager.cluster;

import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.options.PutOption;
import io.opsscaffold.api.compat.controller.v1.ControllerRegistration.Builder;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.logging.Logger;

/**
 * This manager's registration as the platform's Controller: the key {@code <prefix><area>/<manager
 * id>} in etcd, attached to a lease it renews, holding the JSON of {@link
 * io.opsscaffold.api.compat.controller.v1.ControllerRegistration}. It is rewritten every {@code
 * cluster.refresh-interval} ({@code lastHeartbeat}) and within a second of a count or the
 * leadership changing; a clean stop writes {@code offline}, then deletes the key and revokes the
 * lease; after a crash the key goes with the lease.
 *
 * <p>Owned by its {@code controller-registration} scheduler thread: every etcd call happens there,
 * each bounded by {@code etcd.dial-timeout}, so an etcd that is away slows only this thread.
 */
public final class ControllerRegistration implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ControllerRegistration.class.getName());
  private static final Duration CHECK = Duration.ofSeconds(1);

  private final Etcd etcd;
  private final ClusterSettings settings;
  private final String managerId;
  private final String address;
  private final String apiUrl;
  private final String version;
  private final Instant startTime;
  private final IntSupplier agentCount;
  private final BooleanSupplier leader;
  private final Clock clock;
  private final Scheduler thread;
  // Owned by the thread.
  private KeptLease lease;
  private String written = "";
  private Instant writtenAt = Instant.EPOCH;
  private boolean unreachable;

  /**
   * @param apiUrl this manager's base URL (gRPC and HTTP/JSON); the controller surface is under it
   * @param agentCount hosts whose stream this manager holds; called on the registration thread
   * @param leader whether this manager leads its area; called on the registration thread
   */
  public ControllerRegistration(
      Etcd etcd,
      ClusterSettings settings,
      String managerId,
      String apiUrl,
      String version,
      IntSupplier agentCount,
      BooleanSupplier leader,
      Time time) {
    this.etcd = etcd;
    this.settings = settings;
    this.managerId = managerId;
    this.apiUrl = apiUrl;
    this.address = apiUrl + "/compat/controller";
    this.version = version;
    this.agentCount = agentCount;
    this.leader = leader;
    this.clock = time.clock();
    this.startTime = clock.instant();
    this.thread = time.scheduler("controller-registration");
  }

  /** The key of a manager's registration. */
  public static String key(ClusterSettings settings, String managerId) {
    return settings.prefix() + settings.area() + "/" + managerId;
  }

  /** Registers now and keeps the record fresh; never blocks. */
  public void start() {
    thread.scheduleWithFixedDelay(Duration.ZERO, CHECK, this::refresh);
  }

  private void refresh() {
    try {
      boolean fresh = false;
      if (lease == null || !lease.held()) {
        if (lease != null) {
          lease.close();
          lease = null;
        }
        lease = KeptLease.grant(etcd, settings.leaseTtl(), settings.dialTimeout());
        fresh = true;
      }
      Instant now = clock.instant();
      String record = json("online", now);
      String withoutTime = json("online", startTime);
      if (fresh
          || !withoutTime.equals(written)
          || Duration.between(writtenAt, now).compareTo(settings.refreshInterval()) >= 0) {
        put(record, lease.id());
        written = withoutTime;
        writtenAt = now;
      }
      if (unreachable) {
        unreachable = false;
        LOG.info("registered again in etcd as " + key(settings, managerId));
      }
    } catch (Exception e) {
      if (!unreachable) {
        unreachable = true;
        LOG.warning(
            "cannot keep the registration "
                + key(settings, managerId)
                + " in etcd "
                + settings.endpoints()
                + " ("
                + e
                + "); the manager serves on and retries every second");
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void put(String json, long leaseId) throws Exception {
    etcd.client()
        .getKVClient()
        .put(
            Etcd.bytes(key(settings, managerId)),
            ByteSequence.from(json, java.nio.charset.StandardCharsets.UTF_8),
            PutOption.builder().withLeaseId(leaseId).build())
        .get(settings.dialTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The record as etcd holds it. */
  String json(String status, Instant heartbeat) {
    Builder b =
        io.opsscaffold.api.compat.controller.v1.ControllerRegistration.newBuilder()
            .setId(managerId)
            .setArea(settings.area())
            .setAddress(address)
            .setStatus(status)
            .setVersion(version)
            .setStartTime(timestamp(startTime))
            .setLastHeartbeat(timestamp(heartbeat))
            .setAgentCount(agentCount.getAsInt())
            .putMetadata("api", apiUrl)
            .putMetadata("leader", Boolean.toString(leader.getAsBoolean()));
    try {
      return JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(b);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Timestamp timestamp(Instant i) {
    return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
  }

  /**
   * Writes {@code offline}, deletes the key and revokes the lease (each bounded by {@code
   * etcd.dial-timeout}; when etcd is away the key goes with the lease), then stops the thread.
   */
  @Override
  public void close() {
    try {
      thread
          .submit(
              () -> {
                if (lease != null) {
                  try {
                    // A stop does not wait long for an etcd that is away: the lease ends the key.
                    long ms = Math.min(2000, settings.dialTimeout().toMillis());
                    etcd.client()
                        .getKVClient()
                        .put(
                            Etcd.bytes(key(settings, managerId)),
                            ByteSequence.from(
                                json("offline", clock.instant()),
                                java.nio.charset.StandardCharsets.UTF_8),
                            PutOption.builder().withLeaseId(lease.id()).build())
                        .get(ms, TimeUnit.MILLISECONDS);
                    etcd.client()
                        .getKVClient()
                        .delete(Etcd.bytes(key(settings, managerId)))
                        .get(ms, TimeUnit.MILLISECONDS);
                  } catch (Exception e) {
                    LOG.info("could not deregister from etcd (" + e + "); the lease will expire");
                  }
                  lease.close();
                  lease = null;
                }
                return null;
              })
          .get(5000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.info("deregistration did not finish (" + e + ")");
    } finally {
      thread.close();
    }
  }
}
