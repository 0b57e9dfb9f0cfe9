package io.opsscaffold.daemon.supervision;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/** Signals whole process groups ({@code kill -s SIG -- -PGID}); Java has no call for it. */
final class ProcessGroups {
  private static final Logger LOG = Logger.getLogger(ProcessGroups.class.getName());

  private ProcessGroups() {}

  /**
   * Sends {@code signal} to every process of group {@code pgid}; falls back to signalling only the
   * leader ({@code handle}) when {@code kill} cannot be run. Waits at most 5 s for {@code kill}.
   */
  static void signal(long pgid, String signal, ProcessHandle handle) {
    try {
      Process kill = new ProcessBuilder("kill", "-s", signal, "--", "-" + pgid)
          .redirectErrorStream(true).redirectOutput(Redirect.DISCARD).start();
      if (!kill.waitFor(5, TimeUnit.SECONDS)) {
        kill.destroyForcibly();
      }
    } catch (IOException e) {
      LOG.warning(() -> "could not send SIG" + signal + " to group " + pgid + ": " + e);
      if (signal.equals("KILL")) {
        handle.destroyForcibly();
      } else {
        handle.destroy();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
