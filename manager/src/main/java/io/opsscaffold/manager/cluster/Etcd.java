package io.opsscaffold.manager.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.opsscaffold.security.Pem;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.logging.Logger;

/**
 * The manager's one etcd client, secured like every other connection: {@code https://} endpoints
 * verified against {@code etcd.ca-file} (with a client certificate when configured); {@code
 * http://} only when asked for ({@code etcd.insecure: true}) and every endpoint is a loopback
 * address, and then warned about at every start.
 */
public final class Etcd implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Etcd.class.getName());

  private final Client client;

  private Etcd(Client client) {
    this.client = client;
  }

  /**
   * A client for the configured endpoints. It connects lazily: an etcd that is away now is retried
   * by every call.
   *
   * @throws IllegalArgumentException naming the setting: plaintext towards another host, mixed
   *     schemes, a missing or unreadable CA, certificate or key
   */
  public static Etcd connect(ClusterSettings settings) {
    List<URI> endpoints = settings.endpoints();
    boolean tls = endpoints.stream().anyMatch(u -> "https".equals(u.getScheme()));
    for (URI u : endpoints) {
      if (!"https".equals(u.getScheme()) && !"http".equals(u.getScheme())) {
        throw new IllegalArgumentException(
            "etcd.endpoints: " + u + " is not an http:// or https:// URL");
      }
      if (tls != "https".equals(u.getScheme())) {
        throw new IllegalArgumentException(
            "etcd.endpoints: mixes http:// and https:// (" + endpoints + ")");
      }
      if (!tls && !loopback(u.getHost())) {
        throw new IllegalArgumentException(
            "etcd.endpoints: plaintext http:// is only allowed to a loopback address; "
                + u
                + " is not (use https:// with etcd.ca-file)");
      }
      if (!tls && !settings.insecure()) {
        throw new IllegalArgumentException(
            "etcd.endpoints: "
                + u
                + " is plaintext; use https:// with etcd.ca-file, or set etcd.insecure: true for"
                + " an etcd on this machine's loopback");
      }
    }
    ClientBuilder builder =
        Client.builder()
            .endpoints(endpoints.toArray(URI[]::new))
            .connectTimeout(settings.dialTimeout())
            .keepaliveTime(java.time.Duration.ofSeconds(5))
            .keepaliveTimeout(settings.dialTimeout())
            .keepaliveWithoutCalls(true)
            // jetcd retries a failed call with backoff; keep one call's retries within the dial
            // timeout so the callers' own loops decide what happens next.
            .retryMaxDuration(settings.dialTimeout())
            .retryDelay(100)
            .retryMaxDelay(1000);
    if (tls) {
      X509Certificate ca =
          read("etcd.ca-file", settings.caFile(), p -> Pem.certificates(p).getFirst());
      var ssl = io.grpc.netty.GrpcSslContexts.forClient().trustManager(ca);
      if (settings.certFile().isPresent() != settings.keyFile().isPresent()) {
        throw new IllegalArgumentException(
            "etcd.cert-file and etcd.key-file: give both or neither");
      }
      if (settings.certFile().isPresent()) {
        List<X509Certificate> chain =
            read("etcd.cert-file", settings.certFile(), Pem::certificates);
        PrivateKey key = read("etcd.key-file", settings.keyFile(), Pem::privateKey);
        ssl.keyManager(key, chain.toArray(X509Certificate[]::new));
      }
      try {
        builder.sslContext(ssl.build());
      } catch (javax.net.ssl.SSLException e) {
        throw new IllegalArgumentException("etcd TLS cannot be set up: " + e.getMessage(), e);
      }
    } else {
      LOG.warning(
          "etcd over PLAINTEXT (etcd.insecure: true, etcd.endpoints "
              + endpoints
              + "): anything on this machine can read and write the area's registration, claims"
              + " and leadership. Use https:// with etcd.ca-file anywhere but a test machine.");
    }
    return new Etcd(builder.build());
  }

  private interface Parser<T> {
    T parse(String pem);
  }

  private static <T> T read(String key, java.util.Optional<Path> file, Parser<T> parser) {
    if (file.isEmpty()) {
      throw new IllegalArgumentException(key + ": is required with https:// etcd endpoints");
    }
    try {
      return parser.parse(Files.readString(file.get()));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(key + ": cannot be read (" + e.getMessage() + ")", e);
    }
  }

  static boolean loopback(String host) {
    try {
      return host != null && InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  public Client client() {
    return client;
  }

  static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    client.close();
  }
}
