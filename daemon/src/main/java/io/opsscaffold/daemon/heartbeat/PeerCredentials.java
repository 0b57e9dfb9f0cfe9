package io.opsscaffold.daemon.heartbeat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.channels.SocketChannel;
import java.util.logging.Logger;

/**
 * Who is at the other end of a connected Unix socket, as the kernel saw it at {@code connect}: the
 * peer's pid, user and group ({@code SO_PEERCRED}). Java reads only the user and group of a peer;
 * the pid needs {@code getsockopt} itself, which the daemon calls through the foreign function API
 * when it runs on JDK 22 or newer (see {@code src/main/java22}). On JDK 21 the pid is unknown and
 * heartbeats on the socket can be checked by their sender's user only.
 */
public interface PeerCredentials {
  /** A peer: its pid (0 when unknown), user and group ids. */
  record Peer(long pid, int uid, int gid) {
    public boolean pidKnown() {
      return pid > 0;
    }
  }

  /**
   * The peer of {@code channel}, a connected Unix socket.
   *
   * @throws IOException when the kernel cannot say
   */
  Peer of(SocketChannel channel) throws IOException;

  /** Whether {@link #of} gives the peer's pid. */
  boolean givesPid();

  /** The best this JVM can do: the kernel's full answer on JDK 22+, the user and group on 21. */
  static PeerCredentials system() {
    return Holder.SYSTEM;
  }

  /** The file descriptor of {@code channel}, through the JDK's own (exported) accessor. */
  static int fd(SocketChannel channel) throws IOException {
    try {
      Class<?> selectable = Class.forName("sun.nio.ch.SelChImpl");
      Method getFd = selectable.getMethod("getFDVal");
      return (int) getFd.invoke(channel);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IOException(
          "the socket's descriptor is not readable (the daemon needs"
              + " --add-exports java.base/sun.nio.ch=ALL-UNNAMED, which its jar's manifest gives)",
          e);
    }
  }

  /** Chooses the implementation once. */
  final class Holder {
    private static final Logger LOG = Logger.getLogger(PeerCredentials.class.getName());
    static final PeerCredentials SYSTEM = choose();

    private Holder() {}

    private static PeerCredentials choose() {
      if (Runtime.version().feature() >= 22) {
        try {
          return (PeerCredentials)
              Class.forName("io.opsscaffold.daemon.heartbeat.ffm.FfmPeerCredentials")
                  .getConstructor()
                  .newInstance();
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
          LOG.warning(
              () ->
                  "the kernel's peer credentials are not readable here ("
                      + e
                      + "); heartbeats on the Unix socket are checked by their sender's user only");
        }
      } else {
        LOG.warning(
            "JDK "
                + Runtime.version().feature()
                + ": heartbeats on the Unix socket are checked by their sender's user only;"
                + " JDK 22 or newer checks the sending process itself");
      }
      return new UserOnly();
    }
  }

  /** JDK 21: the peer's user and group, from Java's own {@code SO_PEERCRED}. */
  final class UserOnly implements PeerCredentials {
    @Override
    public Peer of(SocketChannel channel) throws IOException {
      var principal = channel.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED);
      return new Peer(0, Ids.uid(principal.user()), Ids.gid(principal.group()));
    }

    @Override
    public boolean givesPid() {
      return false;
    }
  }

  /** Numeric ids of the JDK's user and group principals (named by name; ids come from the OS). */
  final class Ids {
    private Ids() {}

    static int uid(java.nio.file.attribute.UserPrincipal user) throws IOException {
      return numeric(user.getName(), "/etc/passwd");
    }

    static int gid(java.nio.file.attribute.GroupPrincipal group) throws IOException {
      return numeric(group.getName(), "/etc/group");
    }

    private static int numeric(String name, String table) throws IOException {
      if (name.chars().allMatch(Character::isDigit) && !name.isEmpty()) {
        return Integer.parseInt(name);
      }
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(table))) {
        String[] f = line.split(":", -1);
        if (f.length > 2 && f[0].equals(name)) {
          return Integer.parseInt(f[2]);
        }
      }
      throw new IOException("no id for '" + name + "' in " + table);
    }
  }
}
