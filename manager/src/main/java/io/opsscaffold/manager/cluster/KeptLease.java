package io.opsscaffold.manager.cluster;

import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * An etcd lease this manager keeps alive, and its own conservative view of whether it still holds
 * it. etcd counts a lease's TTL from when it handled the last renewal, which is before this side
 * heard of it; so the lease is taken as held only until a quarter of the TTL before that renewal's
 * expiry as seen here. A leader that stops renewing (etcd away, a partition) steps down before etcd
 * lets another manager win, so two never act at once.
 *
 * <p>Thread-safe: jetcd's keep-alive callbacks update the deadline; any thread may ask.
 */
final class KeptLease implements AutoCloseable {
  private final Etcd etcd;
  private final long id;
  private final long ttlSeconds;
  private final CloseableClient keepAlive;
  private volatile long validUntilNanos;
  private volatile boolean lost;

  private KeptLease(Etcd etcd, long id, long ttlSeconds, long grantedAtNanos) {
    this.etcd = etcd;
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    this.validUntilNanos = grantedAtNanos + safeNanos(ttlSeconds);
    this.keepAlive =
        etcd.client()
            .getLeaseClient()
            .keepAlive(
                id,
                new StreamObserver<>() {
                  @Override
                  public void onNext(LeaseKeepAliveResponse r) {
                    if (r.getTTL() > 0) {
                      validUntilNanos = System.nanoTime() + safeNanos(r.getTTL());
                    } else {
                      lost = true;
                    }
                  }

                  @Override
                  public void onError(Throwable t) {
                    lost = true;
                  }

                  @Override
                  public void onCompleted() {
                    lost = true;
                  }
                });
  }

  private static long safeNanos(long ttlSeconds) {
    return TimeUnit.SECONDS.toNanos(ttlSeconds) * 3 / 4;
  }

  /**
   * Grants a lease of {@code ttl} (whole seconds, at least 2) and starts keeping it alive.
   *
   * @throws Exception when etcd does not grant it within {@code timeout}
   */
  static KeptLease grant(Etcd etcd, Duration ttl, Duration timeout) throws Exception {
    long ttlSeconds = Math.max(2, ttl.toSeconds());
    long start = System.nanoTime();
    long id =
        etcd.client()
            .getLeaseClient()
            .grant(ttlSeconds)
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
            .getID();
    return new KeptLease(etcd, id, ttlSeconds, start);
  }

  long id() {
    return id;
  }

  long ttlSeconds() {
    return ttlSeconds;
  }

  /** Whether the lease is certainly still held. */
  boolean held() {
    return !lost && System.nanoTime() < validUntilNanos;
  }

  /**
   * Stops renewing and revokes the lease (its keys go at once); a revoke that fails is left to
   * expiry.
   */
  @Override
  public void close() {
    keepAlive.close();
    lost = true;
    try {
      etcd.client().getLeaseClient().revoke(id).get(1, TimeUnit.SECONDS);
    } catch (Exception e) {
      // etcd is away: the lease ends by itself within its TTL
    }
  }
}
