package io.opsscaffold.manager.cluster;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How a manager joins its area's managers on etcd ({@code etcd.*} and {@code cluster.*}; see the
 * README's table). Without endpoints the manager runs alone.
 *
 * @param endpoints etcd's client URLs; {@code http://} only with {@code insecure}, towards a
 *     loopback address
 * @param caFile the CA that signs etcd's server certificate (required with {@code https://})
 * @param certFile the manager's client certificate for etcd, when etcd asks for one
 * @param keyFile its key
 * @param dialTimeout how long one connection attempt to etcd may take
 * @param leaseTtl the lease of the registration and of a campaign: a crashed manager's key and
 *     leadership are gone this long after its last renewal
 * @param area the area the manager serves
 * @param managerId the manager's id within the area; empty = {@code <host name>-<port>}
 * @param advertiseUrl the base URL others reach this manager at; empty = {@code https://<host
 *     name>:<port>}
 * @param refreshInterval how often the registration's record is rewritten ({@code lastHeartbeat})
 * @param prefix where controllers register ({@code controllers/})
 * @param insecure {@code etcd.insecure}: plaintext to an etcd on this machine's loopback, asked for
 *     explicitly and warned about at every start; never to another host
 */
public record ClusterSettings(
    List<URI> endpoints,
    Optional<Path> caFile,
    Optional<Path> certFile,
    Optional<Path> keyFile,
    Duration dialTimeout,
    Duration leaseTtl,
    String area,
    String managerId,
    Optional<URI> advertiseUrl,
    Duration refreshInterval,
    String prefix,
    boolean insecure) {

  public static final String DEFAULT_PREFIX = "controllers/";

  /** No etcd: the manager runs alone. */
  public static ClusterSettings none() {
    return new ClusterSettings(
        List.of(),
        Optional.empty(),
        Optional.empty(),
        Optional.empty(),
        Duration.ofSeconds(5),
        Duration.ofSeconds(10),
        "default",
        "",
        Optional.empty(),
        Duration.ofSeconds(5),
        DEFAULT_PREFIX,
        false);
  }

  /** Whether etcd is configured. */
  public boolean enabled() {
    return !endpoints.isEmpty();
  }

  /** With these endpoints, area and id. */
  public ClusterSettings with(List<URI> endpoints, String area, String managerId) {
    return new ClusterSettings(
        endpoints,
        caFile,
        certFile,
        keyFile,
        dialTimeout,
        leaseTtl,
        area,
        managerId,
        advertiseUrl,
        refreshInterval,
        prefix,
        insecure);
  }

  /** The same, in plaintext to an etcd on loopback ({@code etcd.insecure: true}). */
  public ClusterSettings plaintextOnLoopback() {
    return new ClusterSettings(
        endpoints,
        caFile,
        certFile,
        keyFile,
        dialTimeout,
        leaseTtl,
        area,
        managerId,
        advertiseUrl,
        refreshInterval,
        prefix,
        true);
  }

  /** With this base URL advertised to other managers and platforms. */
  public ClusterSettings withAdvertiseUrl(URI url) {
    return new ClusterSettings(
        endpoints,
        caFile,
        certFile,
        keyFile,
        dialTimeout,
        leaseTtl,
        area,
        managerId,
        Optional.of(url),
        refreshInterval,
        prefix,
        insecure);
  }

  /** With this lease and refresh interval. */
  public ClusterSettings withTimings(Duration leaseTtl, Duration refreshInterval) {
    return new ClusterSettings(
        endpoints,
        caFile,
        certFile,
        keyFile,
        dialTimeout,
        leaseTtl,
        area,
        managerId,
        advertiseUrl,
        refreshInterval,
        prefix,
        insecure);
  }
}
