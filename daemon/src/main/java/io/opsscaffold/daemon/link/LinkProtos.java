package io.opsscaffold.daemon.link;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.opentelemetry.context.Context;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.status.v1.Health;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.observability.TraceContextCarrier;

/** Snapshots to link messages. Stateless. */
public final class LinkProtos {
  private LinkProtos() {}

  /** The context's span as a link trace context; empty when it holds no valid span. */
  static ByteString traceContext(Context context) {
    byte[] binary = TraceContextCarrier.binary(context);
    return binary == null ? ByteString.EMPTY : UnsafeByteOperations.unsafeWrap(binary);
  }

  /** A context whose parent is the span a link trace context names, or the root context. */
  static Context context(ByteString trace) {
    return trace.isEmpty() ? Context.root() : TraceContextCarrier.extract(trace.toByteArray());
  }

  public static AgentState state(AgentSnapshot s) {
    AgentState.Builder b =
        AgentState.newBuilder()
            .setAgentId(s.agentId())
            .setType(s.type())
            .setLifecycle(Lifecycle.valueOf("LIFECYCLE_" + s.lifecycle().name()))
            .setHealth(Health.valueOf("HEALTH_" + s.health().name()))
            .setPid((int) s.pid())
            .setHeartbeatTimeout(Durations.fromMillis(s.heartbeatTimeout().toMillis()))
            .setRestartCount(s.restartCount())
            .setMessage(s.message())
            .addAllLastLogLines(s.lastLogLines())
            .setLastRestartReason(s.lastRestartReason())
            .setStopRequested(s.stopRequested());
    s.startedAt().ifPresent(t -> b.setStartedAt(Timestamps.fromMillis(t.toEpochMilli())));
    s.lastHeartbeat().ifPresent(t -> b.setLastHeartbeat(Timestamps.fromMillis(t.toEpochMilli())));
    s.lastExitCode().ifPresent(b::setLastExitCode);
    s.lastExitAt().ifPresent(t -> b.setLastExitAt(Timestamps.fromMillis(t.toEpochMilli())));
    return b.build();
  }
}
