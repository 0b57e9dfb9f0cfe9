package io.opsscaffold.manager.fleet;

import java.util.List;

/** One change to the stored fleet; a batch of them is applied in one transaction, in order. */
public sealed interface FleetWrite {

  /** A daemon said Hello: insert or update the node and mark it ONLINE with this session. */
  record NodeConnected(NodeRecord node) implements FleetWrite {}

  /** The node's stream ended at {@code atMs}; it stays ONLINE until {@link NodeOffline}. */
  record NodeDisconnected(String nodeId, String sessionId, long atMs) implements FleetWrite {}

  /** The node's latest host measurements (protobuf JSON of HostStats). */
  record NodeStats(String nodeId, String statsJson, long atMs) implements FleetWrite {}

  /**
   * The manager started: these nodes, stored ONLINE by its earlier run, are UNCONFIRMED until their
   * daemons reconnect or the offline grace passes.
   */
  record NodesUnconfirmed(List<String> nodeIds) implements FleetWrite {}

  /** The grace period passed without a new stream: the node is OFFLINE. */
  record NodeOffline(String nodeId) implements FleetWrite {}

  /** FullState: the node's agents are exactly these. */
  record ReplaceAgents(String nodeId, List<AgentRecord> agents) implements FleetWrite {}

  /** Deltas: these agents changed (insert or update, keyed by node id and agent id). */
  record UpsertAgents(List<AgentRecord> agents) implements FleetWrite {}

  /** Deltas: these agents were removed from the node's configuration. */
  record RemoveAgents(String nodeId, List<String> agentIds) implements FleetWrite {}

  /** An admin revoked or deleted the node: it and its agents leave the fleet. */
  record NodeDeleted(String nodeId) implements FleetWrite {}
}
