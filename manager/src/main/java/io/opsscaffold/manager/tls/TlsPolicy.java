package io.opsscaffold.manager.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How the manager's one port is protected.
 *
 * @param insecure plaintext; only on a loopback address, with a warning at every start
 * @param dir where the manager's CA ({@code ca.crt}, {@code ca.key}) and its own server certificate
 *     live; created on first start
 * @param certFile a server certificate chain to present instead of one issued by the CA
 * @param keyFile the key of {@code certFile}
 * @param names names and addresses the server certificate covers besides the host's own
 * @param serverValidity how long an issued server certificate is valid
 * @param caExport where to put a copy of the CA certificate (public) for daemons and clients to
 *     read, e.g. a volume shared with them; the CA's key never goes there
 */
public record TlsPolicy(
    boolean insecure,
    Path dir,
    Optional<Path> certFile,
    Optional<Path> keyFile,
    List<String> names,
    Duration serverValidity,
    Optional<Path> caExport) {

  /** The default: TLS with the manager's own CA under {@code <dataDir>/tls}. */
  public static TlsPolicy auto(Path dataDir) {
    return new TlsPolicy(
        false,
        dataDir.resolve("tls"),
        Optional.empty(),
        Optional.empty(),
        List.of(),
        Duration.ofDays(365),
        Optional.empty());
  }

  /** Plaintext, for a manager on loopback (tests, benchmarks). */
  public static TlsPolicy insecure(Path dataDir) {
    return new TlsPolicy(
        true,
        dataDir.resolve("tls"),
        Optional.empty(),
        Optional.empty(),
        List.of(),
        Duration.ofDays(365),
        Optional.empty());
  }
}
