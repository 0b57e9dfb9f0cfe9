package io.opsscaffold.daemon.unix;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * A Unix domain socket the daemon listens on: bound at a path (a stale socket file there is
 * replaced) with the given mode, accepting on a platform thread and serving each connection on a
 * virtual thread of its own. The socket file goes away on {@link #close}.
 */
public final class UnixListener implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(UnixListener.class.getName());
  private final Path path;
  private final ServerSocketChannel server;
  private volatile boolean open = true;

  /**
   * @param mode the socket file's permissions, e.g. "rw-------"
   * @param name names the threads
   * @param serve serves one accepted connection (and closes it)
   * @throws IOException when the socket cannot be made
   */
  public UnixListener(Path path, String mode, String name, Consumer<SocketChannel> serve)
      throws IOException {
    this.path = path;
    Files.createDirectories(path.toAbsolutePath().getParent());
    Files.deleteIfExists(path);
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(path));
    Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(mode));
    Thread.ofPlatform()
        .name(name)
        .daemon(true)
        .start(
            () -> {
              while (open) {
                try {
                  SocketChannel client = server.accept();
                  Thread.ofVirtual().name(name + "-client").start(() -> serve.accept(client));
                } catch (IOException e) {
                  if (open) {
                    LOG.warning(() -> "accepting on " + path + " failed: " + e);
                  }
                }
              }
            });
  }

  public Path path() {
    return path;
  }

  /** Whether it still listens (connections being served end when it does not). */
  public boolean open() {
    return open;
  }

  @Override
  public void close() {
    open = false;
    try {
      server.close();
      Files.deleteIfExists(path);
    } catch (IOException e) {
      LOG.fine(() -> "closing " + path + ": " + e);
    }
  }
}
