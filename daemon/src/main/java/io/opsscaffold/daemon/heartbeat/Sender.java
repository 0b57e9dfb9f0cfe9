package io.opsscaffold.daemon.heartbeat;

import java.util.OptionalLong;

/**
 * Who sent a heartbeat, as the kernel knows it, never as the body says. The intake asks whether the
 * sender belongs to the agent's process group; only then does the heartbeat count as a sign of
 * life.
 */
public interface Sender {
  /**
   * The pid of the sending process when it is a member of process group {@code pgid}; empty when it
   * is not or when the kernel cannot tell. {@code hint} is the pid the heartbeat names: looked at
   * first, trusted only when the kernel agrees.
   */
  OptionalLong memberOf(long pgid, long hint);

  /** The sender for messages: its pid, or its address. */
  String describe();

  /**
   * A sender the kernel named: the pid of the peer of a Unix socket. Its process group is read once
   * and again every 5 s, not for every heartbeat.
   */
  static Sender process(long pid, ProcSockets proc) {
    return new Sender() {
      private long group;
      private long readAt;

      @Override
      public synchronized OptionalLong memberOf(long pgid, long hint) {
        if (pid == pgid) {
          return OptionalLong.of(pid);
        }
        long now = System.nanoTime();
        if (readAt == 0 || now - readAt > 5_000_000_000L) {
          group = proc.processGroup(pid);
          readAt = now;
        }
        return group == pgid ? OptionalLong.of(pid) : OptionalLong.empty();
      }

      @Override
      public String describe() {
        return "pid " + pid;
      }
    };
  }

  /** A sender the kernel could not name: never a member of any group. */
  static Sender unknown(String what) {
    return new Sender() {
      @Override
      public OptionalLong memberOf(long pgid, long hint) {
        return OptionalLong.empty();
      }

      @Override
      public String describe() {
        return what;
      }
    };
  }

  /**
   * A Unix socket peer whose pid is unknown (JDK 21): the pid the heartbeat names counts when it is
   * a member of the group and runs as the peer's user, the one fact the kernel gave.
   */
  static Sender user(int uid, ProcSockets proc) {
    return new Sender() {
      @Override
      public OptionalLong memberOf(long pgid, long hint) {
        return hint > 0
                && (hint == pgid || proc.processGroup(hint) == pgid)
                && proc.uid(hint) == uid
            ? OptionalLong.of(hint)
            : OptionalLong.empty();
      }

      @Override
      public String describe() {
        return "a process of user " + uid + " (its pid is unknown on this JDK)";
      }
    };
  }
}
