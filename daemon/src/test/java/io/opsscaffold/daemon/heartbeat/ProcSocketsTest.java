package io.opsscaffold.daemon.heartbeat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kernel facts about real sockets of this JVM and of a process that is not this one. */
class ProcSocketsTest {
  private final ProcSockets proc = ProcSockets.system();
  private final long self = ProcessHandle.current().pid();

  @Test
  void theClientEndOfALoopbackConnectionIsFoundAndItsHolderWithIt() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        Socket accepted = server.accept()) {
      InetSocketAddress from = (InetSocketAddress) accepted.getRemoteSocketAddress();
      OptionalLong inode = proc.clientInode(from, server.getLocalPort());
      assertTrue(inode.isPresent(), "the client's socket is in /proc/net/tcp");
      assertTrue(proc.holds(self, inode.getAsLong()));
      long group = proc.processGroup(self);
      assertEquals(OptionalLong.of(self), proc.holderInGroup(inode.getAsLong(), group, self));
      assertEquals(
          OptionalLong.of(self),
          proc.holderInGroup(inode.getAsLong(), group, 1),
          "a wrong hint is not believed, and the group is searched");

      Process other = new ProcessBuilder("setsid", "sleep", "30").start();
      try {
        assertFalse(proc.holds(other.pid(), inode.getAsLong()));
        assertEquals(
            OptionalLong.empty(),
            proc.holderInGroup(inode.getAsLong(), other.pid(), other.pid()),
            "nobody in the other process's group holds this socket, whatever the hint");
      } finally {
        other.destroyForcibly();
      }
      assertEquals(
          OptionalLong.empty(),
          proc.clientInode(
              new InetSocketAddress("127.0.0.2", from.getPort()), server.getLocalPort()),
          "no such connection from this host");
    }
  }

  @Test
  void aConnectionsSenderIsFoundOnceAndRemembered() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
        Socket accepted = server.accept()) {
      InetSocketAddress from = (InetSocketAddress) accepted.getRemoteSocketAddress();
      TcpSenders senders = new TcpSenders(proc);
      Sender sender = senders.of("c1", from, server.getLocalPort());
      long group = proc.processGroup(self);
      assertEquals(OptionalLong.of(self), sender.memberOf(group, 0), "found without a hint");
      assertEquals(OptionalLong.empty(), sender.memberOf(group + 100_000, self));
      // The same connection seen again: remembered, whatever the body now claims.
      assertEquals(
          OptionalLong.of(self), senders.of("c1", from, server.getLocalPort()).memberOf(group, 1));
      Sender stranger =
          senders.of("c2", new InetSocketAddress("127.0.0.1", 1), server.getLocalPort());
      assertEquals(OptionalLong.empty(), stranger.memberOf(group, self));
      assertTrue(stranger.describe().contains("no such connection"), stranger.describe());
    }
  }

  @Test
  void kernelAddressesAreDecoded() throws Exception {
    assertEquals(8080, ProcSockets.port("0100007F:1F90"));
    assertEquals(InetAddress.getByName("127.0.0.1"), ProcSockets.address("0100007F:1F90"));
    assertEquals(
        InetAddress.getByName("127.0.0.1"),
        ProcSockets.address("0000000000000000FFFF00000100007F:1F90"),
        "an IPv4-mapped address in tcp6 is the IPv4 address");
    assertEquals(
        InetAddress.getByName("::1"), ProcSockets.address("00000000000000000000000001000000:0050"));
  }

  @Test
  void theKernelNamesTheProcessAtTheOtherEndOfAUnixSocket(@TempDir Path dir) throws Exception {
    Path path = dir.resolve("s.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(path));
      try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path));
          SocketChannel accepted = server.accept()) {
        PeerCredentials.Peer peer = PeerCredentials.system().of(accepted);
        assertEquals(proc.uid(self), peer.uid());
        if (Runtime.version().feature() >= 22) {
          assertTrue(PeerCredentials.system().givesPid());
          assertEquals(self, peer.pid(), "the peer's pid, from SO_PEERCRED");
        } else {
          assertFalse(peer.pidKnown());
        }
      }
    }
  }
}
