package io.opsscaffold.daemon.heartbeat;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The senders of heartbeats over loopback HTTP, found from kernel facts and remembered per
 * connection: the client's socket inode from {@code /proc/net/tcp}, then the member of the agent's
 * process group that holds it. An agent keeps its connection open, so a connection is looked up
 * once and its heartbeats then cost no {@code /proc} read at all: the holder and its group are
 * remembered ({@value #RECHECK_SECONDS} s), and so is a group in which nobody holds it ({@value
 * #RETRY_SECONDS} s), so a stranger's flood costs one search per group and connection every few
 * seconds, not one per heartbeat. Thread-safe.
 */
public final class TcpSenders {
  static final long RECHECK_SECONDS = 30;
  static final long RETRY_SECONDS = 5;
  private static final int MAX_CONNECTIONS = 4096;

  /** What is known of one connection; its fields are read and written under its own lock. */
  private static final class Known {
    long inode;
    long holder; // 0: none found yet
    long holderGroup;
    long holderCheckedAt;
    final Map<Long, Long> absentFrom = new java.util.HashMap<>(); // group -> when looked at
  }

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
    Known known = connections.get(key);
    if (known == null) {
      if (connections.size() >= MAX_CONNECTIONS) {
        connections.clear(); // closed connections are not announced; start over now and then
      }
      known = connections.computeIfAbsent(key, k -> new Known());
    }
    Known k = known;
    return new Sender() {
      @Override
      public OptionalLong memberOf(long pgid, long hint) {
        long now = System.nanoTime();
        synchronized (k) {
          if (k.holder > 0 && seconds(now - k.holderCheckedAt) < RECHECK_SECONDS) {
            return k.holderGroup == pgid ? OptionalLong.of(k.holder) : OptionalLong.empty();
          }
          Long absent = k.absentFrom.get(pgid);
          if (absent != null && seconds(now - absent) < RETRY_SECONDS) {
            return OptionalLong.empty();
          }
          if (k.inode == 0) {
            k.inode = proc.clientInode(client, serverPort).orElse(-1);
          }
          OptionalLong holder =
              k.inode > 0 ? proc.holderInGroup(k.inode, pgid, hint) : OptionalLong.empty();
          if (holder.isPresent()) {
            k.holder = holder.getAsLong();
            k.holderGroup = pgid;
            k.holderCheckedAt = now;
            k.absentFrom.clear();
          } else {
            k.holder = 0;
            if (k.absentFrom.size() > 64) {
              k.absentFrom.clear();
            }
            k.absentFrom.put(pgid, now);
          }
          return holder;
        }
      }

      @Override
      public String describe() {
        synchronized (k) {
          return k.inode < 0
              ? client + " (no such connection from this host's processes)"
              : "a process outside the group, connected from " + client;
        }
      }
    };
  }

  private static long seconds(long nanos) {
    return TimeUnit.NANOSECONDS.toSeconds(nanos);
  }
}
