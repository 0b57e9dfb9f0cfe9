package io.opsscaffold.daemon.heartbeat.ffm;

import io.opsscaffold.daemon.heartbeat.PeerCredentials;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.SocketChannel;

/**
 * {@code getsockopt(fd, SOL_SOCKET, SO_PEERCRED, struct ucred *, socklen_t *)} through the foreign
 * function API (JDK 22+; compiled separately, loaded by name). Linux only; {@code struct ucred} is
 * three 32-bit ints: pid, uid, gid.
 */
public final class FfmPeerCredentials implements PeerCredentials {
  private static final int SOL_SOCKET = 1;
  private static final int SO_PEERCRED = 17;
  private static final int UCRED_SIZE = 12;

  private final MethodHandle getsockopt;

  public FfmPeerCredentials() {
    Linker linker = Linker.nativeLinker();
    getsockopt =
        linker.downcallHandle(
            linker.defaultLookup().find("getsockopt").orElseThrow(),
            FunctionDescriptor.of(
                ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS,
                ValueLayout.ADDRESS));
  }

  @Override
  public Peer of(SocketChannel channel) throws IOException {
    int fd = PeerCredentials.fd(channel);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment cred = arena.allocate(UCRED_SIZE, 4);
      MemorySegment length = arena.allocate(ValueLayout.JAVA_INT);
      length.set(ValueLayout.JAVA_INT, 0, UCRED_SIZE);
      int rc = (int) getsockopt.invokeExact(fd, SOL_SOCKET, SO_PEERCRED, cred, length);
      if (rc != 0) {
        throw new IOException("getsockopt(SO_PEERCRED) failed");
      }
      return new Peer(
          Integer.toUnsignedLong(cred.get(ValueLayout.JAVA_INT, 0)),
          cred.get(ValueLayout.JAVA_INT, 4),
          cred.get(ValueLayout.JAVA_INT, 8));
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IOException("getsockopt(SO_PEERCRED) failed: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean givesPid() {
    return true;
  }
}
