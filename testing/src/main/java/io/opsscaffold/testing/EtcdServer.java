package io.opsscaffold.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private etcd server for one test: the real {@code etcd} binary (Debian's {@code etcd-server}),
 * a single member on free loopback ports with its data in a temporary directory, removed on close.
 * Plaintext, since it listens on loopback only and lives as long as the test.
 *
 * <p>{@link #stop} kills it as a crash would (its data stays), {@link #restart} brings the same
 * member back on the same ports, so tests can take etcd away from a running manager.
 */
public final class EtcdServer implements AutoCloseable {
  /** The binary: {@code OPS_TEST_ETCD} when set, otherwise {@code etcd} on the PATH. */
  public static String binary() {
    String configured = System.getenv("OPS_TEST_ETCD");
    return configured == null || configured.isBlank() ? "etcd" : configured;
  }

  /** The files of a member serving TLS and asking clients for certificates of {@code ca}. */
  public record Tls(Path certFile, Path keyFile, Path caFile) {}

  private final Path dataDir;
  private final int clientPort;
  private final int peerPort;
  private final Tls tls;
  private Process process;

  private EtcdServer(Path dataDir, int clientPort, int peerPort, Tls tls) {
    this.dataDir = dataDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.tls = tls;
  }

  /** Starts a member and waits until it answers its health check (at most 30 s). */
  public static EtcdServer start() {
    return start(null);
  }

  /**
   * Starts a member serving its clients over TLS with {@code tls}'s certificate, and only to
   * clients presenting a certificate signed by its CA ({@code --client-cert-auth}).
   */
  public static EtcdServer startTls(Tls tls) {
    return start(tls);
  }

  private static EtcdServer start(Tls tls) {
    try {
      EtcdServer server =
          new EtcdServer(Files.createTempDirectory("ops-etcd-"), freePort(), freePort(), tls);
      server.launch();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The client URL, {@code http://127.0.0.1:<port>} ({@code https://} with TLS). */
  public String endpoint() {
    return (tls == null ? "http" : "https") + "://127.0.0.1:" + clientPort;
  }

  public int clientPort() {
    return clientPort;
  }

  /** Kills the member with SIGKILL and waits for it to be gone; its data stays. */
  public void stop() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Starts the member again on the same ports and data, after {@link #stop}. */
  public void restart() {
    stop();
    launch();
  }

  private void launch() {
    String peer = "http://127.0.0.1:" + peerPort;
    List<String> command =
        new ArrayList<>(
            List.of(
                binary(),
                "--name",
                "test",
                "--data-dir",
                dataDir.resolve("member").toString(),
                "--listen-client-urls",
                endpoint(),
                "--advertise-client-urls",
                endpoint(),
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                "test=" + peer,
                "--initial-cluster-state",
                "new",
                // Lease expiry is what tests wait for: check leases often.
                "--heartbeat-interval",
                "100",
                "--election-timeout",
                "1000"));
    if (tls != null) {
      command.addAll(
          List.of(
              "--cert-file",
              tls.certFile().toString(),
              "--key-file",
              tls.keyFile().toString(),
              "--trusted-ca-file",
              tls.caFile().toString(),
              "--client-cert-auth"));
    }
    try {
      process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(dataDir.resolve("etcd.log").toFile())
              .start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot run "
              + binary()
              + " (install Debian's etcd-server, or set OPS_TEST_ETCD): "
              + e.getMessage(),
          e);
    }
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!healthy(http)) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        stop();
        throw new IllegalStateException(
            "etcd did not become healthy on " + endpoint() + ": " + log());
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stop();
        throw new IllegalStateException("interrupted while etcd started", e);
      }
    }
  }

  private boolean healthy(HttpClient http) {
    if (tls != null) {
      // Its health endpoint wants a client certificate: ready once it says so and accepts.
      try (java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), clientPort)) {
        return log().contains("ready to serve client requests");
      } catch (IOException e) {
        return false;
      }
    }
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
                  .timeout(Duration.ofSeconds(1))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 && r.body().contains("true");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** What etcd printed, for failure messages. */
  public String log() {
    try {
      String all = Files.readString(dataDir.resolve("etcd.log"));
      return all.length() > 4000 ? all.substring(all.length() - 4000) : all;
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    stop();
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temporary directory left behind
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
