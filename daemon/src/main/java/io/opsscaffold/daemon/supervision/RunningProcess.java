package io.opsscaffold.daemon.supervision;

import java.util.concurrent.CompletableFuture;

/** A launched agent process; the leader of its own process group. */
public interface RunningProcess {
  long pid();

  /**
   * Completes with the exit code (128 + N when killed by signal N) as soon as the process exits.
   * Completes on a JDK reaper thread: continuations must hand off, not block.
   */
  CompletableFuture<Integer> onExit();

  /** Sends {@code signal} (e.g. "TERM", "KILL") to the whole process group. Never blocks long. */
  void signalGroup(String signal);
}
