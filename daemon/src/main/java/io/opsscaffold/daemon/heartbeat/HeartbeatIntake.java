package io.opsscaffold.daemon.heartbeat;

import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.supervision.Supervisor;
import java.time.Clock;
import java.util.Optional;

/**
 * Where heartbeats from every transport end up: checks that the agent is supervised here and hands
 * the heartbeat to its runner. Thread-safe; never blocks.
 */
public final class HeartbeatIntake {
  private final Supervisor supervisor;
  private final Clock clock;

  public HeartbeatIntake(Supervisor supervisor, Clock clock) {
    this.supervisor = supervisor;
    this.clock = clock;
  }

  /** Records {@code hb}; the problem to report when the agent is not supervised here. */
  public Optional<String> accept(Heartbeat hb, Context cause) {
    if (!supervisor.heartbeat(hb.agentId(), clock.instant(), hb.progress(), cause)) {
      return Optional.of("unknown agent '" + hb.agentId() + "': this daemon supervises "
          + (supervisor.agentIds().isEmpty() ? "no agents" : String.join(", ", supervisor.agentIds())));
    }
    return Optional.empty();
  }
}
