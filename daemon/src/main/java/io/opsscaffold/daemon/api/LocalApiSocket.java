package io.opsscaffold.daemon.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.logging.Logger;

/**
 * The local API on a Unix socket (mode 0600): each connection is relayed, byte for byte, to the
 * daemon's own port, where {@link LocalApiGuard} lets it in because it comes from the daemon
 * itself. So HTTP/1.1, HTTP/2 and gRPC all work over it ({@code curl --unix-socket}, {@code grpcurl
 * -unix}), and the file's mode is the whole access rule: the daemon's user (root on a host).
 */
public final class LocalApiSocket implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(LocalApiSocket.class.getName());
  private final Path path;
  private final InetSocketAddress target;
  private final RelayedConnections relayed;
  private final ServerSocketChannel server;
  private volatile boolean running = true;

  /**
   * Binds {@code path} (replacing a stale socket file, made 0600) and relays to {@code target}.
   *
   * @throws IOException when the socket cannot be made
   */
  public LocalApiSocket(Path path, InetSocketAddress target, RelayedConnections relayed)
      throws IOException {
    this.path = path;
    this.target = target;
    this.relayed = relayed;
    Files.createDirectories(path.toAbsolutePath().getParent());
    Files.deleteIfExists(path);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(path));
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
    Thread.ofPlatform().name("local-api-socket").daemon(true).start(this::accept);
  }

  public Path path() {
    return path;
  }

  private void accept() {
    while (running) {
      try {
        SocketChannel client = server.accept();
        Thread.ofVirtual().name("local-api-relay").start(() -> relay(client));
      } catch (IOException e) {
        if (running) {
          LOG.warning(() -> "accepting on " + path + " failed: " + e);
        }
      }
    }
  }

  private void relay(SocketChannel client) {
    try (client;
        Socket port = new Socket()) {
      port.setTcpNoDelay(true);
      port.connect(target, 5_000);
      InetSocketAddress local = (InetSocketAddress) port.getLocalSocketAddress();
      relayed.opened(local);
      try {
        pipe(client, port);
      } finally {
        relayed.closed(local);
      }
    } catch (IOException e) {
      LOG.fine(() -> "a local API connection on " + path + " ended: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void pipe(SocketChannel client, Socket port)
      throws IOException, InterruptedException {
    {
      InputStream fromClient = Channels.newInputStream(client);
      OutputStream toClient = Channels.newOutputStream(client);
      Thread up =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      fromClient.transferTo(port.getOutputStream());
                      port.shutdownOutput();
                    } catch (IOException e) {
                      // either side went away; the other copy ends with it
                    }
                  });
      try {
        port.getInputStream().transferTo(toClient);
      } finally {
        client.shutdownOutput();
        up.join(5_000);
      }
    }
  }

  @Override
  public void close() {
    running = false;
    try {
      server.close();
      Files.deleteIfExists(path);
    } catch (IOException e) {
      LOG.fine(() -> "closing " + path + ": " + e);
    }
  }
}
