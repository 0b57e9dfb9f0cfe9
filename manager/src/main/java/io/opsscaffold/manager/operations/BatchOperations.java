package io.opsscaffold.manager.operations;

import com.google.protobuf.util.Durations;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opsscaffold.api.fleet.v1.AgentSelector;
import io.opsscaffold.api.fleet.v1.AgentTarget;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateRequest;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.fleet.FleetRepository;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs one operation over many agents: at most {@code concurrency} at a time (each on its own
 * virtual thread, waiting for its daemon), each within its deadline; a failing target never stops
 * the others. The batch is one trace with a child span per target, and one entry of the
 * operations log. Thread-safe.
 */
public final class BatchOperations {
  static final int DEFAULT_CONCURRENCY = 10;
  static final int MAX_CONCURRENCY = 100;
  static final Duration DEFAULT_ITEM_TIMEOUT = Duration.ofSeconds(30);

  private final FleetQueries queries;
  private final OperationService operations;
  private final OperationRepository log;
  private final Tracer tracer;
  private final Clock clock;

  public BatchOperations(FleetQueries queries, OperationService operations, OperationRepository log, Tracer tracer,
      Clock clock) {
    this.queries = queries;
    this.operations = operations;
    this.log = log;
    this.tracer = tracer;
    this.clock = clock;
  }

  /**
   * Validates {@code req} (throwing INVALID_ARGUMENT) and starts the batch; {@code progress} hears
   * each target's result as it completes (on that target's thread). Completes with the summary.
   */
  public CompletableFuture<BatchOperateResponse> run(BatchOperateRequest req, Consumer<BatchItemResult> progress) {
    if (!OperationService.OPERATIONS.contains(req.getOperation())) {
      throw OpsException.invalidArgument("operation '" + req.getOperation() + "' is not valid; valid operations: "
          + String.join(", ", OperationService.OPERATIONS));
    }
    int concurrency = req.getConcurrency() == 0 ? DEFAULT_CONCURRENCY : req.getConcurrency();
    if (concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw OpsException.invalidArgument("concurrency must be between 1 and " + MAX_CONCURRENCY
          + " (got " + req.getConcurrency() + ")");
    }
    Duration timeout = req.hasItemTimeout() ? Duration.ofMillis(Durations.toMillis(req.getItemTimeout()))
        : DEFAULT_ITEM_TIMEOUT;
    if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofSeconds(300)) > 0) {
      throw OpsException.invalidArgument("itemTimeout must be between 1s and 300s (got " + timeout.toMillis() + " ms)");
    }
    List<AgentTarget> targets = targets(req);
    if (targets.isEmpty()) {
      throw OpsException.invalidArgument("no targets: list targets, or give a selector that matches agents");
    }

    String requester = Requester.current();
    String operationId = "op-" + UUID.randomUUID();
    Span batch = tracer.spanBuilder("batch operate agents")
        .setAttribute("ops.operation", req.getOperation())
        .setAttribute("ops.operation.id", operationId)
        .setAttribute("ops.batch.size", targets.size())
        .startSpan();
    Context ctx = Context.current().with(batch);
    long startedMs = clock.millis();
    String traceId = batch.getSpanContext().getTraceId();
    log.save(new OperationRecord(operationId, "batch-" + req.getOperation(), requester, startedMs, 0, "RUNNING",
        List.of(), traceId));

    BatchItemResult[] results = new BatchItemResult[targets.size()];
    Semaphore slots = new Semaphore(concurrency);
    AtomicInteger remaining = new AtomicInteger(targets.size());
    CompletableFuture<BatchOperateResponse> done = new CompletableFuture<>();
    for (int i = 0; i < targets.size(); i++) {
      int index = i;
      AgentTarget t = targets.get(i);
      Thread.ofVirtual().name("batch-" + t.getNodeId() + "/" + t.getAgentId()).start(ctx.wrap(() -> {
        slots.acquireUninterruptibly();
        try {
          results[index] = one(t, req.getOperation(), timeout);
        } finally {
          slots.release();
        }
        try {
          progress.accept(results[index]);
        } catch (RuntimeException e) {
          // a streaming client went away: the batch goes on
        }
        if (remaining.decrementAndGet() == 0) {
          List<BatchItemResult> all = List.of(results);
          OperationRecord finished = new OperationRecord(operationId, "batch-" + req.getOperation(), requester,
              startedMs, clock.millis(), OperationRecord.resultOf(all), all, traceId);
          log.save(finished);
          batch.setAttribute("ops.batch.failed", finished.failed());
          batch.end();
          done.complete(BatchOperateResponse.newBuilder().setOperationId(operationId).setTotal(all.size())
              .setSuccess(finished.success()).setFailed(finished.failed()).addAllResults(all).build());
        }
      }));
    }
    return done;
  }

  private BatchItemResult one(AgentTarget t, String operation, Duration timeout) {
    long begun = clock.millis();
    BatchItemResult.Builder r = BatchItemResult.newBuilder().setNodeId(t.getNodeId()).setAgentId(t.getAgentId());
    try (Scope ignored = Context.current().makeCurrent()) {
      OperationService.Outcome outcome =
          operations.operateUnlogged(t.getNodeId(), t.getAgentId(), operation, timeout).join();
      r.setOk(true).setCode("OK").setMessage(outcome.message());
    } catch (RuntimeException e) {
      Status s = ErrorMapper.toStatus(e);
      r.setOk(false).setCode(s.getCode().name()).setMessage(String.valueOf(s.getDescription()));
    }
    return r.setDuration(Durations.fromMillis(clock.millis() - begun)).build();
  }

  private List<AgentTarget> targets(BatchOperateRequest req) {
    Set<String> seen = new LinkedHashSet<>();
    List<AgentTarget> out = new ArrayList<>();
    for (AgentTarget t : req.getTargetsList()) {
      if (t.getNodeId().isBlank() || t.getAgentId().isBlank()) {
        throw OpsException.invalidArgument("targets[" + out.size() + "] needs both nodeId and agentId");
      }
      if (seen.add(t.getNodeId() + "/" + t.getAgentId())) {
        out.add(t);
      }
    }
    if (req.hasSelector() && !req.getSelector().equals(AgentSelector.getDefaultInstance())) {
      AgentSelector s = req.getSelector();
      var page = queries.listFleetAgents(new FleetRepository.AgentFilter(s.getNodeId(), "", s.getArea(), s.getZone(),
          s.getHostname(), s.getAddress(), s.getType(), s.getVersion()), s.getStatus(), s.getLabel(), 1,
          FleetQueries.MAX_PAGE_SIZE);
      for (var v : page.agents()) {
        if (seen.add(v.node().nodeId() + "/" + v.agent().agentId())) {
          out.add(AgentTarget.newBuilder().setNodeId(v.node().nodeId()).setAgentId(v.agent().agentId()).build());
        }
      }
    }
    return out;
  }
}
