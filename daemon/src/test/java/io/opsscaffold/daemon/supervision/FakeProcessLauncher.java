package io.opsscaffold.daemon.supervision;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/** A launcher of pretend processes that tests exit, and that record the signals they get. */
public final class FakeProcessLauncher implements ProcessLauncher {
  /**
   * A pretend process. TERM ends it with 143 unless it ignores TERM; KILL always ends it with 137.
   */
  public static final class FakeProcess implements RunningProcess {
    public final long pid;
    public final CompletableFuture<Integer> exit = new CompletableFuture<>();
    public final List<String> signals = new CopyOnWriteArrayList<>();
    final boolean ignoresTerm;

    /** While not null, a TERM blocks the caller until it is counted down (a signal that hangs). */
    final CountDownLatch termHangs;

    FakeProcess(long pid, boolean ignoresTerm, CountDownLatch termHangs) {
      this.pid = pid;
      this.ignoresTerm = ignoresTerm;
      this.termHangs = termHangs;
    }

    @Override
    public long pid() {
      return pid;
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return exit;
    }

    @Override
    public void signalGroup(String signal) {
      signals.add(signal);
      if (signal.equals("TERM") && termHangs != null) {
        try {
          termHangs.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (signal.equals("KILL")) {
        exit.complete(137);
      } else if (signal.equals("TERM") && !ignoresTerm) {
        exit.complete(143);
      }
    }

    public void exitWith(int code) {
      exit.complete(code);
    }
  }

  private final AtomicInteger nextPid = new AtomicInteger(1000);
  public final List<FakeProcess> launched = new CopyOnWriteArrayList<>();
  public volatile boolean ignoreTerm;

  /** Set: the processes launched from now on hang on TERM until it is counted down. */
  volatile CountDownLatch termHangs;

  public volatile int failuresToSimulate;

  @Override
  public RunningProcess launch(AgentSpec spec) throws IOException {
    if (failuresToSimulate > 0) {
      failuresToSimulate--;
      throw new IOException(
          "Cannot run program \"" + spec.command() + "\": error=2, No such file or directory");
    }
    FakeProcess p = new FakeProcess(nextPid.incrementAndGet(), ignoreTerm, termHangs);
    launched.add(p);
    return p;
  }

  public FakeProcess last() {
    return launched.get(launched.size() - 1);
  }

  List<FakeProcess> all() {
    return new ArrayList<>(launched);
  }
}
