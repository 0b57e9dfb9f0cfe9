package io.opsscaffold.daemon.link;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.status.v1.Health;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.daemon.supervision.AgentSnapshot;

/** Snapshots to link messages. Stateless. */
public final class LinkProtos {
  private LinkProtos() {}

  public static AgentState state(AgentSnapshot s) {
    AgentState.Builder b =
        AgentState.newBuilder()
            .setAgentId(s.agentId())
            .setType(s.type())
            .setLifecycle(Lifecycle.valueOf("LIFECYCLE_" + s.lifecycle()))
            .setHealth(Health.valueOf("HEALTH_" + s.health()))
            .setPid((int) s.pid())
            .setHeartbeatTimeout(Durations.fromMillis(s.heartbeatTimeout().toMillis()))
            .setRestartCount(s.restartCount())
            .setMessage(s.message())
            .addAllLastLogLines(s.lastLogLines())
            .setLastRestartReason(s.lastRestartReason());
    s.startedAt().ifPresent(t -> b.setStartedAt(Timestamps.fromMillis(t.toEpochMilli())));
    s.lastHeartbeat().ifPresent(t -> b.setLastHeartbeat(Timestamps.fromMillis(t.toEpochMilli())));
    s.lastExitCode().ifPresent(b::setLastExitCode);
    s.lastExitAt().ifPresent(t -> b.setLastExitAt(Timestamps.fromMillis(t.toEpochMilli())));
    return b.build();
  }
}
