package io.opsscaffold.daemon.supervision;

import java.util.concurrent.CompletableFuture;

/**
 * An agent process this daemon did not start (a previous daemon did, and was killed): it is not our
 * child, so its exit status cannot be collected. {@link #onExit} completes with -1 ("unknown") when
 * the JDK notices the process is gone; for a non-child the JDK cannot wait in {@code waitpid} and
 * checks periodically instead (see README: exit detection of adopted agents).
 */
final class AdoptedProcess implements RunningProcess {
  private final ProcessHandle handle;

  AdoptedProcess(ProcessHandle handle) {
    this.handle = handle;
  }

  @Override
  public long pid() {
    return handle.pid();
  }

  @Override
  public CompletableFuture<Integer> onExit() {
    return handle.onExit().thenApply(h -> -1);
  }

  @Override
  public void signalGroup(String signal) {
    ProcessGroups.signal(handle.pid(), signal, handle);
  }
}
