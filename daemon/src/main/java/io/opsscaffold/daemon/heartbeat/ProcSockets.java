package io.opsscaffold.daemon.heartbeat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * Kernel facts about sockets, read from {@code /proc} as {@code ss -p} does: which socket (inode) a
 * loopback TCP client connected from ({@code /proc/net/tcp} and {@code tcp6}), and which process
 * holds a socket ({@code /proc/<pid>/fd}). Reading another user's {@code fd} directory needs root
 * or the same user; what cannot be read is "not found", never a guess.
 */
public final class ProcSockets {
  private final Path proc;

  public ProcSockets(Path proc) {
    this.proc = proc;
  }

  public static ProcSockets system() {
    return new ProcSockets(Path.of("/proc"));
  }

  /**
   * The inode of the client's end of a TCP connection from {@code client} to port {@code
   * serverPort} on this host: the socket whose local address is {@code client} and whose remote
   * port is {@code serverPort}. Empty when no such socket is here (the client is on another host or
   * in another network namespace).
   */
  public OptionalLong clientInode(InetSocketAddress client, int serverPort) {
    for (String table : List.of("net/tcp", "net/tcp6")) {
      List<String> lines;
      try {
        lines = Files.readAllLines(proc.resolve(table));
      } catch (IOException e) {
        continue;
      }
      for (int i = 1; i < lines.size(); i++) {
        String[] f = lines.get(i).strip().split("\\s+");
        if (f.length < 10) {
          continue;
        }
        try {
          if (port(f[2]) == serverPort
              && port(f[1]) == client.getPort()
              && address(f[1]).equals(client.getAddress())) {
            return OptionalLong.of(Long.parseLong(f[9]));
          }
        } catch (NumberFormatException | UnknownHostException e) {
          // a line this parser does not understand is not the client's
        }
      }
    }
    return OptionalLong.empty();
  }

  /** Whether process {@code pid} holds socket {@code inode} among its open files. */
  public boolean holds(long pid, long inode) {
    if (pid <= 0) {
      return false;
    }
    String target = "socket:[" + inode + "]";
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve(pid + "/fd"))) {
      for (Path fd : fds) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals(target)) {
            return true;
          }
        } catch (IOException e) {
          // closed while listing
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }

  /**
   * The process of group {@code pgid} that holds socket {@code inode}: {@code hint} when it does
   * (the pid the sender names, checked), else any member of the group. Empty when none does.
   */
  public OptionalLong holderInGroup(long inode, long pgid, long hint) {
    if (hint > 0 && holds(hint, inode) && (hint == pgid || processGroup(hint) == pgid)) {
      return OptionalLong.of(hint);
    }
    try (DirectoryStream<Path> all = Files.newDirectoryStream(proc)) {
      for (Path p : all) {
        String name = p.getFileName().toString();
        if (name.isEmpty() || !name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        long pid = Long.parseLong(name);
        if (pid != hint && processGroup(pid) == pgid && holds(pid, inode)) {
          return OptionalLong.of(pid);
        }
      }
    } catch (IOException | NumberFormatException e) {
      return OptionalLong.empty();
    }
    return OptionalLong.empty();
  }

  /** The process group of {@code pid}, or -1 when it cannot be read (no such process). */
  public long processGroup(long pid) {
    try {
      String stat = Files.readString(proc.resolve(pid + "/stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[2]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The real user id of {@code pid}, or -1 when it cannot be read. */
  public int uid(long pid) {
    try {
      for (String line : Files.readAllLines(proc.resolve(pid + "/status"))) {
        if (line.startsWith("Uid:")) {
          return Integer.parseInt(line.substring(4).strip().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** {@code 0100007F:1F90} → 8080. */
  static int port(String hostPort) {
    return Integer.parseInt(hostPort.substring(hostPort.indexOf(':') + 1), 16);
  }

  /**
   * {@code 0100007F:1F90} → 127.0.0.1: the kernel prints each 32-bit word of the address in host
   * (little-endian) order; an IPv4-mapped IPv6 address comes back as the IPv4 one.
   */
  static InetAddress address(String hostPort) throws UnknownHostException {
    String hex = hostPort.substring(0, hostPort.indexOf(':'));
    if (hex.length() != 8 && hex.length() != 32) {
      throw new UnknownHostException(hex);
    }
    byte[] bytes = new byte[hex.length() / 2];
    for (int word = 0; word < bytes.length / 4; word++) {
      for (int b = 0; b < 4; b++) {
        int at = word * 8 + (3 - b) * 2;
        bytes[word * 4 + b] = (byte) Integer.parseInt(hex.substring(at, at + 2), 16);
      }
    }
    return InetAddress.getByAddress(bytes);
  }
}
