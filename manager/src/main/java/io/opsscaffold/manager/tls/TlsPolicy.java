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
 * @param nodeValidity how long a node's client certificate is valid (daemons renew it over the link
 *     after two thirds of that)
 * @param enrollmentTokenFile where to write, on a start that finds it missing, a new enrollment
 *     token (valid 24 h, any number of uses) for daemons that share the file (a compose volume), as
 *     k3s writes its server token
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
    Duration nodeValidity,
    Optional<Path> enrollmentTokenFile,
    Optional<Path> caExport) {

  /** The default lifetime of a node's certificate. */
  public static final Duration NODE_VALIDITY = Duration.ofDays(7);

  /** The default: TLS with the manager's own CA under {@code <dataDir>/tls}. */
  public static TlsPolicy auto(Path dataDir) {
    return new TlsPolicy(
        false,
        dataDir.resolve("tls"),
        Optional.empty(),
        Optional.empty(),
        List.of(),
        Duration.ofDays(365),
        NODE_VALIDITY,
        Optional.empty(),
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
        NODE_VALIDITY,
        Optional.empty(),
        Optional.empty());
  }
}
