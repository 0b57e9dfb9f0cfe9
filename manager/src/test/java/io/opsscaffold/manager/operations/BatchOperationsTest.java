package io.opsscaffold.manager.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.api.fleet.v1.AgentTarget;
import io.opsscaffold.api.fleet.v1.BatchOperateRequest;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.manager.link.SessionRegistry;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Batches against fakes: no database, no daemon. */
class BatchOperationsTest {
  /** A fleet that knows no node: every target is NOT_FOUND, at once. */
  private static final class EmptyFleet implements FleetRepository {
    @Override
    public void apply(List<FleetWrite> writes) {}

    @Override
    public Optional<NodeRecord> findNode(String nodeId) {
      return Optional.empty();
    }

    @Override
    public Page<NodeRecord> listNodes(List<String> areas, String c, int offset, int limit) {
      return new Page<>(List.of(), 0);
    }

    @Override
    public List<String> onlineNodeIds() {
      return List.of();
    }

    @Override
    public List<AgentRecord> listAgents(String nodeId) {
      return List.of();
    }

    @Override
    public Optional<AgentRecord> findAgent(String nodeId, String agentId) {
      return Optional.empty();
    }

    @Override
    public int countAgents(String nodeId) {
      return 0;
    }

    @Override
    public Map<String, Integer> countAgents(Collection<String> nodeIds) {
      return Map.of();
    }

    @Override
    public List<AgentOnNode> listFleetAgents(AgentFilter filter) {
      return List.of();
    }

    @Override
    public List<NodeRecord> findNodesByAddress(List<String> ips, List<Integer> cloudIds) {
      return List.of();
    }
  }

  /** An operations log whose writes fail from the {@code failFrom}-th on. */
  private static final class FlakyLog implements OperationRepository {
    final List<OperationRecord> saved = new CopyOnWriteArrayList<>();
    final int failFrom;

    FlakyLog(int failFrom) {
      this.failFrom = failFrom;
    }

    @Override
    public void save(OperationRecord record) {
      if (saved.size() + 1 >= failFrom) {
        throw new IllegalStateException("the database is gone");
      }
      saved.add(record);
    }

    @Override
    public Optional<OperationRecord> find(String id) {
      return Optional.empty();
    }

    @Override
    public List<OperationRecord> list(String kind, int offset, int limit) {
      return List.copyOf(saved);
    }

    @Override
    public long count(String kind) {
      return saved.size();
    }
  }

  private static BatchOperations batches(OperationRepository log) {
    ManualTime time = new ManualTime();
    FleetQueries queries = new FleetQueries(new EmptyFleet(), time.clock());
    OperationService operations =
        new OperationService(
            queries,
            new SessionRegistry(),
            new CommandRouter(time),
            TracerProvider.noop().get("t"),
            time.clock(),
            Duration.ofSeconds(30),
            log);
    return new BatchOperations(
        queries, operations, log, TracerProvider.noop().get("t"), time.clock());
  }

  private static BatchOperateRequest restartOf(String... agents) {
    BatchOperateRequest.Builder b = BatchOperateRequest.newBuilder().setOperation("restart");
    for (String a : agents) {
      b.addTargets(AgentTarget.newBuilder().setNodeId("n1").setAgentId(a));
    }
    return b.build();
  }

  @Test
  void everyTargetGetsItsResultAndTheBatchIsRecorded() throws Exception {
    FlakyLog log = new FlakyLog(Integer.MAX_VALUE);
    List<io.opsscaffold.api.fleet.v1.BatchItemResult> progress = new CopyOnWriteArrayList<>();
    BatchOperateResponse r =
        batches(log).run(restartOf("a1", "a2"), progress::add).get(5, TimeUnit.SECONDS);
    assertEquals(2, r.getTotal());
    assertEquals(2, r.getFailed());
    assertEquals(
        List.of("NOT_FOUND", "NOT_FOUND"),
        r.getResultsList().stream().map(i -> i.getCode()).toList());
    assertEquals(2, progress.size(), "each result was streamed as it came");
    assertEquals(
        List.of("RUNNING", "FAILED"),
        log.saved.stream().map(OperationRecord::result).toList(),
        "recorded when it began and when it ended");
  }

  @Test
  void aBatchWhoseFinalRecordCannotBeWrittenStillAnswers() throws Exception {
    FlakyLog log = new FlakyLog(2); // the record of the start lands, the final one fails
    BatchOperateResponse r = batches(log).run(restartOf("a1"), i -> {}).get(5, TimeUnit.SECONDS);
    assertEquals(1, r.getTotal());
    assertEquals("NOT_FOUND", r.getResults(0).getCode());
  }
}
