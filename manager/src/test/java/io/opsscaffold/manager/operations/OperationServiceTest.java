package io.opsscaffold.manager.operations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.AgentHealth;
import io.opsscaffold.manager.fleet.AgentLifecycle;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.InMemoryFleetRepository;
import io.opsscaffold.manager.fleet.TestNodes;
import io.opsscaffold.manager.link.SessionRegistry;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * Operations refused before anything is sent, on fakes; the path down a stream is
 * LinkProtocolTest's.
 */
class OperationServiceTest {
  private final ManualTime time = new ManualTime();
  private final InMemoryFleetRepository fleet = new InMemoryFleetRepository();
  private final InMemoryOperationRepository log = new InMemoryOperationRepository();
  private final OperationService operations =
      new OperationService(
          new FleetQueries(fleet, time.clock()),
          new SessionRegistry(),
          new CommandRouter(time),
          TracerProvider.noop().get("t"),
          time.clock(),
          Duration.ofSeconds(30),
          log);

  private void node(String id, long lastSeenMs) {
    fleet.apply(
        List.of(
            new FleetWrite.NodeConnected(TestNodes.offline(id, lastSeenMs)),
            new FleetWrite.UpsertAgents(
                List.of(
                    new AgentRecord(
                        id,
                        "a1",
                        "t",
                        AgentLifecycle.RUNNING,
                        AgentHealth.HEALTHY,
                        7,
                        1,
                        1,
                        0,
                        OptionalInt.empty(),
                        0,
                        0,
                        "",
                        1,
                        List.of(),
                        "")))));
  }

  private static Status status(Runnable call) {
    return ErrorMapper.toStatus(assertThrows(RuntimeException.class, call::run));
  }

  @Test
  void anUnknownOperationOrTimeoutIsInvalidAndNamesWhatIsValid() {
    node("n1", time.millis());
    Status op = status(() -> operations.operate("n1", "a1", "explode", Duration.ZERO));
    assertEquals(Status.Code.INVALID_ARGUMENT, op.getCode());
    assertEquals(
        "operation 'explode' is not valid; valid operations: start, stop, restart",
        op.getDescription());
    Status timeout = status(() -> operations.operate("n1", "a1", "stop", Duration.ofMinutes(10)));
    assertEquals("timeout must be between 1s and 300s (got 600000 ms)", timeout.getDescription());
  }

  @Test
  void anUnknownNodeOrAgentIsNotFound() {
    node("n1", time.millis());
    assertEquals(
        Status.Code.NOT_FOUND,
        status(() -> operations.operate("n9", "a1", "stop", Duration.ZERO)).getCode());
    assertEquals(
        Status.Code.NOT_FOUND,
        status(() -> operations.operate("n1", "a9", "stop", Duration.ZERO)).getCode());
  }

  @Test
  void aNodeWithoutAStreamIsUnavailableSayingWhenItWasLastSeen() {
    node("n1", time.millis());
    time.advance(Duration.ofSeconds(12));
    Status s = status(() -> operations.operate("n1", "a1", "restart", Duration.ZERO));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode());
    assertEquals("node n1's daemon is not connected (last seen 12 s ago)", s.getDescription());
  }

  @Test
  void aBatchWithAnUnknownOperationIsRefusedBeforeAnythingRunsOrIsLogged() {
    BatchOperations batches =
        new BatchOperations(
            new FleetQueries(fleet, time.clock()),
            operations,
            log,
            TracerProvider.noop().get("t"),
            time.clock());
    OpsException e =
        assertThrows(
            OpsException.class,
            () ->
                batches.run(
                    io.opsscaffold.api.fleet.v1.BatchOperateRequest.newBuilder()
                        .setOperation("explode")
                        .build(),
                    i -> {}));
    assertEquals(Status.Code.INVALID_ARGUMENT, ErrorMapper.toStatus(e).getCode());
    assertEquals(0, log.count(""), "nothing was logged");
  }
}
