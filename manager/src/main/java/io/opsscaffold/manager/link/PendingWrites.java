package io.opsscaffold.manager.link;

import com.google.protobuf.ByteString;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetWrite;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The writes waiting for the state writer's next transaction, coalesced so that what waits is
 * bounded by the fleet's size, not by how long the database has been slow or down: an agent's newer
 * state replaces its older one, and a node's newer host stats replace the older ones. Writes that
 * change membership or connectivity (connected, disconnected, offline, full state, removed) are
 * kept in order, and coalescing never moves a state across one of them.
 *
 * <p>Acknowledgements coalesce too: a session's sequence numbers only grow, so acknowledging its
 * highest one covers every message of it held here. Not thread-safe: {@link StateWriter} guards it.
 */
final class PendingWrites {
  private record AgentKey(String nodeId, String agentId) {}

  /** A run of coalescible writes: the latest state of each agent and stats of each node. */
  private static final class States {
    final Map<AgentKey, AgentRecord> agents = new LinkedHashMap<>();
    final Map<String, FleetWrite.NodeStats> stats = new LinkedHashMap<>();
  }

  private final int maxTraces;

  /** In order: a {@link FleetWrite} kept as it came, or a {@link States} run. */
  private final List<Object> parts = new ArrayList<>();

  private States open;
  private final Map<StateWriter.Acker, Long> highestSeq = new IdentityHashMap<>();
  private final Map<StateWriter.Acker, Long> firstQueuedNanos = new IdentityHashMap<>();
  private final List<ByteString> traces = new ArrayList<>();
  private int size;

  /**
   * @param maxTraces trace carriers kept at most (the writer looks at no more than these)
   */
  PendingWrites(int maxTraces) {
    this.maxTraces = maxTraces;
  }

  void add(
      FleetWrite write,
      StateWriter.Acker acker,
      long seq,
      List<ByteString> carriers,
      long queuedNanos) {
    switch (write) {
      case FleetWrite.UpsertAgents upsert -> {
        States s = openStates();
        for (AgentRecord a : upsert.agents()) {
          if (s.agents.put(new AgentKey(a.nodeId(), a.agentId()), a) == null) {
            size++;
          }
        }
      }
      case FleetWrite.NodeStats stats -> {
        if (openStates().stats.put(stats.nodeId(), stats) == null) {
          size++;
        }
      }
      default -> {
        parts.add(write);
        open = null;
        size++;
      }
    }
    if (acker != null) {
      highestSeq.merge(acker, seq, Math::max);
      firstQueuedNanos.putIfAbsent(acker, queuedNanos);
    }
    for (ByteString c : carriers) {
      if (traces.size() >= maxTraces) {
        break;
      }
      traces.add(c);
    }
  }

  private States openStates() {
    if (open == null) {
      open = new States();
      parts.add(open);
    }
    return open;
  }

  boolean isEmpty() {
    return parts.isEmpty() && highestSeq.isEmpty();
  }

  /** Distinct writes held: agent states, node stats and the writes kept as they came. */
  int size() {
    return size;
  }

  /** The writes to apply, in order. */
  List<FleetWrite> writes() {
    List<FleetWrite> out = new ArrayList<>(parts.size() + 1);
    for (Object part : parts) {
      if (part instanceof States s) {
        if (!s.agents.isEmpty()) {
          out.add(new FleetWrite.UpsertAgents(List.copyOf(s.agents.values())));
        }
        out.addAll(s.stats.values());
      } else {
        out.add((FleetWrite) part);
      }
    }
    return out;
  }

  /** The first trace carriers of the held writes (at most {@code maxTraces}). */
  List<ByteString> traces() {
    return traces;
  }

  /** Each session's highest sequence number held here. */
  Map<StateWriter.Acker, Long> acks() {
    return highestSeq;
  }

  /** When each session's oldest write held here arrived (System.nanoTime). */
  Map<StateWriter.Acker, Long> firstQueued() {
    return firstQueuedNanos;
  }
}
