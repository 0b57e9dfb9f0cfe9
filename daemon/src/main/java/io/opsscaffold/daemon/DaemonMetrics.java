package io.opsscaffold.daemon;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import io.opsscaffold.daemon.heartbeat.HeartbeatIntake;
import io.opsscaffold.daemon.monitor.HealthMonitor;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.daemon.supervision.Supervisor;

/**
 * The daemon's metrics (the table is observability/METRICS.md): per-agent resources, restarts and
 * state, heartbeats, and the host. All are read when the exporter collects, from what the daemon
 * already keeps.
 */
final class DaemonMetrics {
  static final AttributeKey<String> NODE = AttributeKey.stringKey("ops.node.id");
  static final AttributeKey<String> AGENT = AttributeKey.stringKey("ops.agent.id");
  static final AttributeKey<String> TRANSPORT = AttributeKey.stringKey("ops.transport");
  static final AttributeKey<String> RESULT = AttributeKey.stringKey("ops.result");

  private DaemonMetrics() {}

  static void register(
      Meter meter,
      String nodeId,
      Supervisor supervisor,
      HealthMonitor health,
      HeartbeatIntake intake) {
    meter
        .gaugeBuilder("ops.agent.cpu.utilization")
        .setUnit("1")
        .setDescription("CPU of the agent's process over the last sample, fraction of one core")
        .buildWithCallback(
            m ->
                supervisor
                    .agentIds()
                    .forEach(
                        id ->
                            health
                                .history(id)
                                .latest()
                                .ifPresent(
                                    s -> m.record(s.cpuPercent() / 100.0, agent(nodeId, id)))));
    meter
        .gaugeBuilder("ops.agent.memory.rss")
        .ofLongs()
        .setUnit("By")
        .setDescription("Resident memory of the agent's process")
        .buildWithCallback(
            m ->
                supervisor
                    .agentIds()
                    .forEach(
                        id ->
                            health
                                .history(id)
                                .latest()
                                .ifPresent(s -> m.record(s.rssBytes(), agent(nodeId, id)))));
    meter
        .counterBuilder("ops.agent.restarts")
        .setUnit("{restart}")
        .setDescription(
            "Restarts the daemon made after exits or failed health checks it did not ask for")
        .buildWithCallback(
            m -> supervisor.snapshots().forEach(s -> m.record(s.restartCount(), agent(nodeId, s))));
    meter
        .gaugeBuilder("ops.agent.crash_loop")
        .ofLongs()
        .setUnit("{agent}")
        .setDescription("1 while the agent is in CRASH_LOOP, else 0")
        .buildWithCallback(
            m ->
                supervisor
                    .snapshots()
                    .forEach(
                        s ->
                            m.record(
                                s.lifecycle()
                                        == io.opsscaffold.daemon.supervision.Lifecycle.CRASH_LOOP
                                    ? 1
                                    : 0,
                                agent(nodeId, s))));
    meter
        .gaugeBuilder("ops.agent.running")
        .ofLongs()
        .setUnit("{agent}")
        .setDescription("1 while the agent is RUNNING, else 0")
        .buildWithCallback(
            m ->
                supervisor
                    .snapshots()
                    .forEach(
                        s ->
                            m.record(
                                s.lifecycle() == io.opsscaffold.daemon.supervision.Lifecycle.RUNNING
                                    ? 1
                                    : 0,
                                agent(nodeId, s))));
    meter
        .counterBuilder("ops.daemon.heartbeats")
        .setUnit("{heartbeat}")
        .setDescription(
            "Heartbeats received, by transport (http, socket) and result"
                + " (accepted, invalid, too_large, busy, refused)")
        .buildWithCallback(
            m ->
                intake
                    .counts()
                    .forEach(
                        (k, v) ->
                            m.record(
                                v,
                                Attributes.of(
                                    NODE, nodeId, TRANSPORT, k.get(0), RESULT, k.get(1)))));
    Attributes node = Attributes.of(NODE, nodeId);
    meter
        .gaugeBuilder("ops.host.cpu.utilization")
        .setUnit("1")
        .setDescription("CPU of the whole host, fraction of all cores")
        .buildWithCallback(
            m ->
                health
                    .hostHistory()
                    .latest()
                    .ifPresent(h -> m.record(h.cpuPercent() / 100.0, node)));
    meter
        .gaugeBuilder("ops.host.memory.usage")
        .ofLongs()
        .setUnit("By")
        .setDescription("Memory in use on the host (total minus available)")
        .buildWithCallback(
            m ->
                health
                    .hostHistory()
                    .latest()
                    .ifPresent(
                        h -> m.record(h.memoryTotalBytes() - h.memoryAvailableBytes(), node)));
    meter
        .gaugeBuilder("ops.host.memory.limit")
        .ofLongs()
        .setUnit("By")
        .setDescription("Physical memory of the host")
        .buildWithCallback(
            m ->
                health.hostHistory().latest().ifPresent(h -> m.record(h.memoryTotalBytes(), node)));
    meter
        .gaugeBuilder("ops.host.load.1m")
        .setUnit("1")
        .setDescription("Load average over one minute")
        .buildWithCallback(
            m -> health.hostHistory().latest().ifPresent(h -> m.record(h.load1(), node)));
  }

  private static Attributes agent(String nodeId, String agentId) {
    return Attributes.of(NODE, nodeId, AGENT, agentId);
  }

  private static Attributes agent(String nodeId, AgentSnapshot s) {
    return agent(nodeId, s.agentId());
  }
}
