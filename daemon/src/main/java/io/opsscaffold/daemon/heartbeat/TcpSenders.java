package io.opsscaffold.daemon.heartbeat;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The senders of heartbeats over loopback HTTP, found from kernel facts and remembered per
 * connection: the client's socket inode from {@code /proc/net/tcp}, then the member of the agent's
 * process group that holds it. A connection is looked up once (an agent keeps its connection open),
 * so verification costs a heartbeat one {@code /proc/<pid>/stat} read; a holder is checked again
 * every {@value #RECHECK_SECONDS} s, a connection no member holds after {@value #RETRY_SECONDS} s.
 * Thread-safe.
 */
public final class TcpSenders {
  static final long RECHECK_SECONDS = 30;
  static final long RETRY_SECONDS = 5;
  private static final int MAX_CONNECTIONS = 4096;

  /** What is known of one connection: its socket and who of which group holds it (0: nobody). */
  private record Known(long inode, long holder, long group, long checkedAt) {}

  private final ProcSockets proc;
  private final Map<String, Known> connections = new ConcurrentHashMap<>();

  public TcpSenders(ProcSockets proc) {
    this.proc = proc;
  }

  /**
   * The sender at the far end of connection {@code connectionId}, from {@code client} to this
   * daemon's {@code serverPort}.
   */
  public Sender of(String connectionId, InetSocketAddress client, int serverPort) {
    String key = connectionId + "/" + client;
    return new Sender() {
      @Override
      public OptionalLong memberOf(long pgid, long hint) {
        long now = System.nanoTime();
        Known known = connections.get(key);
        if (known != null && known.holder > 0 && age(known, now) < RECHECK_SECONDS) {
          long holder = known.holder;
          return holder == pgid || proc.processGroup(holder) == pgid
              ? OptionalLong.of(holder)
              : OptionalLong.empty();
        }
        if (known != null
            && known.holder == 0
            && known.group == pgid
            && age(known, now) < RETRY_SECONDS) {
          return OptionalLong.empty();
        }
        long inode =
            known != null && known.inode > 0
                ? known.inode
                : proc.clientInode(client, serverPort).orElse(0);
        OptionalLong holder =
            inode > 0 ? proc.holderInGroup(inode, pgid, hint) : OptionalLong.empty();
        if (connections.size() >= MAX_CONNECTIONS) {
          connections.clear(); // closed connections are not announced; start over now and then
        }
        connections.put(key, new Known(inode, holder.orElse(0), pgid, now));
        return holder;
      }

      @Override
      public String describe() {
        Known known = connections.get(key);
        return known != null && known.inode == 0
            ? client + " (no such connection from this host's processes)"
            : "a process outside the group, connected from " + client;
      }
    };
  }

  private static long age(Known known, long now) {
    return TimeUnit.NANOSECONDS.toSeconds(now - known.checkedAt);
  }
}
