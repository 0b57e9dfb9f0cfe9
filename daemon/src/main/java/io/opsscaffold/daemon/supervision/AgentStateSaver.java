package io.opsscaffold.daemon.supervision;

import io.opsscaffold.daemon.store.AgentStateStore;
import io.opsscaffold.daemon.store.StoredAgent;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Saves what must survive a daemon restart (an agent's pid, process start, command line, counters)
 * off the runner threads. Runners hand over their newest snapshot through {@link #offer}, which
 * never blocks; one thread ({@code state-saver}) writes the newest record of each agent, skipping
 * the write when nothing that must survive changed (a heartbeat).
 *
 * <p>A write that fails is retried on the injected {@link Time}, 1 s doubling to 30 s, until it
 * lands: a daemon restarted before its agent's pid is on disk could not re-adopt the agent and
 * would start a second copy. {@link #unsaved} names the agents waiting for such a retry.
 */
final class AgentStateSaver implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AgentStateSaver.class.getName());
  static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  static final Duration MAX_RETRY = Duration.ofSeconds(30);

  private final AgentStateStore store;
  private final Scheduler thread;
  private final Map<String, AgentSnapshot> pending = new ConcurrentHashMap<>();

  /** Agents with a save queued on the thread now (not waiting for a retry). */
  private final Set<String> queued = ConcurrentHashMap.newKeySet();

  // Owned by the saver thread.
  private final Map<String, StoredAgent> lastSaved = new ConcurrentHashMap<>();
  private final Map<String, Integer> failures = new ConcurrentHashMap<>();

  AgentStateSaver(AgentStateStore store, Time time) {
    this.store = store;
    this.thread = time.scheduler("state-saver");
  }

  /** Records {@code s} as the newest state of its agent, to be saved on the saver thread. */
  void offer(AgentSnapshot s) {
    pending.put(s.agentId(), s);
    if (queued.add(s.agentId())) {
      thread.execute(
          () -> {
            queued.remove(s.agentId());
            save(s.agentId());
          });
    }
  }

  /** Forgets an agent that is no longer supervised and deletes its record (on the saver thread). */
  void forget(String agentId) {
    thread.execute(
        () -> {
          pending.remove(agentId);
          lastSaved.remove(agentId);
          failures.remove(agentId);
          try {
            store.delete(agentId);
          } catch (IOException e) {
            LOG.warning(() -> "could not delete the state of " + agentId + ": " + e);
          }
        });
  }

  /** Agents whose latest record is not on disk because writing it failed (a retry is pending). */
  Set<String> unsaved() {
    return Set.copyOf(failures.keySet());
  }

  private void save(String agentId) {
    AgentSnapshot s = pending.remove(agentId);
    if (s == null) {
      return;
    }
    StoredAgent previous = lastSaved.get(agentId);
    // Right after the launch the process may still be setsid about to exec the agent: the command
    // line is only final once the agent runs, so it is read again until then. Otherwise (every
    // heartbeat) the process is not looked up at all.
    boolean samePid =
        previous != null
            && previous.pid() == s.pid()
            && previous.lifecycle().equals(Lifecycle.RUNNING.name());
    Optional<ProcessHandle> h =
        samePid || s.pid() <= 0 ? Optional.empty() : ProcessHandle.of(s.pid());
    StoredAgent next =
        new StoredAgent(
            s.agentId(),
            s.pid(),
            samePid ? previous.processStart() : h.flatMap(p -> p.info().startInstant()),
            samePid ? previous.commandLine() : h.flatMap(p -> p.info().commandLine()).orElse(""),
            s.lifecycle().name(),
            s.restartCount(),
            s.lastExitCode(),
            s.lastExitAt(),
            s.lastRestartReason());
    if (next.equals(previous)) {
      return;
    }
    try {
      store.save(next);
      lastSaved.put(agentId, next);
      if (failures.remove(agentId) != null) {
        LOG.info(() -> "the state of " + agentId + " is saved again");
      }
    } catch (IOException e) {
      int n = failures.merge(agentId, 1, Integer::sum);
      Duration retry = n >= 6 ? MAX_RETRY : FIRST_RETRY.multipliedBy(1L << (n - 1));
      Duration in = retry.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : retry;
      LOG.warning(
          () ->
              "could not save the state of "
                  + agentId
                  + " (attempt "
                  + n
                  + ": "
                  + e.getMessage()
                  + "); a daemon restarted now could not re-adopt it; retrying in "
                  + in.toMillis()
                  + " ms");
      // A newer snapshot that arrived meanwhile wins (it has its own save queued); a retry then
      // finds nothing left to write.
      pending.putIfAbsent(agentId, s);
      thread.schedule(in, () -> save(agentId));
    }
  }

  /** Writes what is pending (waiting a few seconds at most), then stops the thread. */
  @Override
  public void close() {
    try {
      thread
          .submit(
              () -> {
                pending.keySet().forEach(this::save);
                return null;
              })
          .get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warning(() -> "the last state writes did not finish: " + e);
    }
    thread.close();
  }
}
