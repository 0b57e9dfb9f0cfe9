package io.opsscaffold.daemon.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * The local API on a Unix socket (mode 0600): each connection is relayed, byte for byte, to the
 * daemon's own port, where {@link LocalApiGuard} lets it in because it comes from the daemon
 * itself. So HTTP/1.1, HTTP/2 and gRPC all work over it ({@code curl --unix-socket}, {@code grpcurl
 * -unix}), and the file's mode is the whole access rule: the daemon's user (root on a host).
 */
public final class LocalApiSocket implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(LocalApiSocket.class.getName());
  private final InetSocketAddress target;
  private final RelayedConnections relayed;
  private final io.opsscaffold.daemon.unix.UnixListener listener;

  /**
   * Binds {@code path} (replacing a stale socket file, made 0600) and relays to {@code target}.
   *
   * @throws IOException when the socket cannot be made
   */
  public LocalApiSocket(Path path, InetSocketAddress target, RelayedConnections relayed)
      throws IOException {
    this.target = target;
    this.relayed = relayed;
    this.listener =
        new io.opsscaffold.daemon.unix.UnixListener(
            path, "rw-------", "local-api-socket", this::relay);
  }

  public Path path() {
    return listener.path();
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
      LOG.fine(() -> "a local API connection on " + listener.path() + " ended: " + e);
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
    listener.close();
  }
}
