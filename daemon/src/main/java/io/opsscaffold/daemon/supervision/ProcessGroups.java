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
   * leader ({@code handle}) when {@code kill} cannot be run or does not finish within 5 s, and when
   * there is no such group while the leader lives: a process signalled right after its launch may
   * not have made its own group yet (setsid runs in the child, before it execs the agent).
   */
  static void signal(long pgid, String signal, ProcessHandle handle) {
    try {
      Process kill =
          new ProcessBuilder("kill", "-s", signal, "--", "-" + pgid)
              .redirectErrorStream(true)
              .redirectOutput(Redirect.DISCARD)
              .start();
      if (!kill.waitFor(5, TimeUnit.SECONDS)) {
        kill.destroyForcibly();
        LOG.warning(
            () ->
                "kill -s "
                    + signal
                    + " for group "
                    + pgid
                    + " did not finish in 5 s; signalling pid "
                    + handle.pid()
                    + " alone");
        leaderOnly(signal, handle);
      } else if (kill.exitValue() != 0 && handle.isAlive()) {
        LOG.info(
            () -> "no process group " + pgid + " yet; signalling pid " + handle.pid() + " alone");
        leaderOnly(signal, handle);
      }
    } catch (IOException e) {
      LOG.warning(() -> "could not send SIG" + signal + " to group " + pgid + ": " + e);
      leaderOnly(signal, handle);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * What Java can send by itself, to one process: KILL, or TERM for any other signal (only stop
   * signals come here, so TERM is the nearest).
   */
  private static void leaderOnly(String signal, ProcessHandle handle) {
    if (signal.equals("KILL")) {
      handle.destroyForcibly();
    } else {
      handle.destroy();
    }
  }
}
