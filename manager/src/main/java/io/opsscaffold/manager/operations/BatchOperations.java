package io.opsscaffold.manager.operations;

import com.google.protobuf.util.Durations;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opsscaffold.api.ConfigFileRules;
import io.opsscaffold.api.fleet.v1.AgentSelector;
import io.opsscaffold.api.fleet.v1.AgentTarget;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateRequest;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.api.fleet.v1.BatchPushConfigsRequest;
import io.opsscaffold.api.fleet.v1.ConfigFile;
import io.opsscaffold.api.fleet.v1.ConfigPush;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.fleet.FleetRepository;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs one operation over many agents: at most {@code concurrency} at a time (each on its own
 * virtual thread, waiting for its daemon), each within its deadline; a failing target never stops
 * the others. The batch is one trace with a child span per target, and one entry of the operations
 * log. Thread-safe.
 */
public final class BatchOperations {
  private static final java.util.logging.Logger LOG =
      java.util.logging.Logger.getLogger(BatchOperations.class.getName());
  static final int DEFAULT_CONCURRENCY = 10;
  static final int MAX_CONCURRENCY = 100;
  static final Duration DEFAULT_ITEM_TIMEOUT = Duration.ofSeconds(30);
  static final Duration DEFAULT_CONFIG_TIMEOUT = Duration.ofSeconds(60);

  private final FleetQueries queries;
  private final OperationService operations;
  private final OperationRepository log;
  private final Tracer tracer;
  private final Clock clock;

  public BatchOperations(
      FleetQueries queries,
      OperationService operations,
      OperationRepository log,
      Tracer tracer,
      Clock clock) {
    this(queries, operations, log, tracer, clock, DEFAULT_MAX_TARGETS);
  }

  /**
   * @param maxTargets the most agents one batch may reach ({@code limits.max-batch-targets})
   */
  public BatchOperations(
      FleetQueries queries,
      OperationService operations,
      OperationRepository log,
      Tracer tracer,
      Clock clock,
      int maxTargets) {
    this.queries = queries;
    this.operations = operations;
    this.log = log;
    this.tracer = tracer;
    this.clock = clock;
    this.maxTargets = maxTargets;
  }

  /** The default of {@code limits.max-batch-targets}. */
  public static final int DEFAULT_MAX_TARGETS = 10_000;

  private final int maxTargets;

  /**
   * Validates {@code req} (throwing INVALID_ARGUMENT) and starts the batch; {@code progress} hears
   * each target's result as it completes (on that target's thread). Completes with the summary.
   */
  public CompletableFuture<BatchOperateResponse> run(
      BatchOperateRequest req, Consumer<BatchItemResult> progress) {
    io.opsscaffold.api.AgentOperations.parse(
        req.getOperation()); // INVALID_ARGUMENT before anything runs
    int concurrency = concurrency(req.getConcurrency());
    Duration timeout =
        itemTimeout(req.hasItemTimeout() ? req.getItemTimeout() : null, DEFAULT_ITEM_TIMEOUT);
    List<AgentTarget> targets =
        targets(req.getTargetsList(), req.hasSelector() ? req.getSelector() : null);
    if (targets.isEmpty()) {
      throw OpsException.invalidArgument(
          "no targets: list targets, or give a selector that matches agents");
    }
    return execute(
        req.getOperation(),
        targets,
        concurrency,
        progress,
        (t, r) ->
            r.setOk(true)
                .setCode("OK")
                .setMessage(
                    operations
                        .operateUnlogged(t.getNodeId(), t.getAgentId(), req.getOperation(), timeout)
                        .join()
                        .message()));
  }

  /**
   * Validates {@code req} (throwing INVALID_ARGUMENT naming the field) and pushes each agent's
   * files; a rolled-back push is a failed item with outcome FAILED. Completes with the summary.
   */
  public CompletableFuture<BatchOperateResponse> pushConfigs(
      BatchPushConfigsRequest req, Consumer<BatchItemResult> progress) {
    int concurrency = concurrency(req.getConcurrency());
    Duration timeout =
        itemTimeout(req.hasItemTimeout() ? req.getItemTimeout() : null, DEFAULT_CONFIG_TIMEOUT);
    Map<String, List<io.opsscaffold.api.link.v1.ConfigFile>> files = new HashMap<>();
    List<AgentTarget> listed = new ArrayList<>();
    for (int i = 0; i < req.getPushesCount(); i++) {
      ConfigPush p = req.getPushes(i);
      check("pushes[" + i + "].files", p.getFilesList());
      AgentTarget t =
          AgentTarget.newBuilder().setNodeId(p.getNodeId()).setAgentId(p.getAgentId()).build();
      listed.add(t);
      if (files.put(key(t), link(p.getFilesList())) != null) {
        throw OpsException.invalidArgument(
            "pushes[" + i + "] names agent " + key(t) + " a second time");
      }
    }
    boolean selecting =
        req.hasSelector() && !req.getSelector().equals(AgentSelector.getDefaultInstance());
    if (selecting) {
      check("files", req.getFilesList());
    } else if (req.getFilesCount() > 0) {
      throw OpsException.invalidArgument(
          "files are for the agents a selector chooses, and there is no selector;"
              + " give per-agent files in pushes");
    }
    List<AgentTarget> targets = targets(listed, selecting ? req.getSelector() : null);
    if (targets.isEmpty()) {
      throw OpsException.invalidArgument(
          "no targets: give pushes, or a selector (with files) that matches agents");
    }
    List<io.opsscaffold.api.link.v1.ConfigFile> selectedFiles = link(req.getFilesList());
    return execute(
        "configs",
        targets,
        concurrency,
        progress,
        (t, r) -> {
          CommandResult c =
              operations
                  .pushConfig(
                      t.getNodeId(),
                      t.getAgentId(),
                      files.getOrDefault(key(t), selectedFiles),
                      timeout)
                  .join();
          r.setOk(c.getSuccess())
              .setMessage(c.getMessage())
              .setOutcome(c.getConfigOutcome())
              .setConfigHash(c.getConfigHash())
              .setCode(
                  c.getSuccess() ? "OK" : Status.fromCodeValue(c.getErrorCode()).getCode().name());
          return r;
        });
  }

  /** Fills in one target's result, or throws (the failure becomes the result). */
  private interface Action {
    BatchItemResult.Builder apply(AgentTarget target, BatchItemResult.Builder result);
  }

  private CompletableFuture<BatchOperateResponse> execute(
      String operation,
      List<AgentTarget> targets,
      int concurrency,
      Consumer<BatchItemResult> progress,
      Action action) {
    String requester = Requester.current();
    String operationId = "op-" + UUID.randomUUID();
    Span batch =
        tracer
            .spanBuilder("batch " + operation)
            .setAttribute("ops.operation", operation)
            .setAttribute("ops.operation.id", operationId)
            .setAttribute("ops.batch.size", targets.size())
            .startSpan();
    Context ctx = Context.current().with(batch);
    long startedMs = clock.millis();
    String traceId = batch.getSpanContext().getTraceId();
    String kind = "batch-" + operation;
    // The audit comes first: a batch whose record cannot be written is not started at all.
    try {
      log.save(
          new OperationRecord(
              operationId, kind, requester, startedMs, 0, "RUNNING", List.of(), traceId));
    } catch (RuntimeException e) {
      batch.end();
      throw OpsException.unavailable(
          "the operations log cannot be written, so the batch ("
              + targets.size()
              + " agents) was not started; retry when the database is back");
    }

    BatchItemResult[] results = new BatchItemResult[targets.size()];
    Semaphore slots = new Semaphore(concurrency);
    AtomicInteger remaining = new AtomicInteger(targets.size());
    CompletableFuture<BatchOperateResponse> done = new CompletableFuture<>();
    for (int i = 0; i < targets.size(); i++) {
      int index = i;
      AgentTarget t = targets.get(i);
      Thread.ofVirtual()
          .name("batch-" + t.getNodeId() + "/" + t.getAgentId())
          .start(
              ctx.wrap(
                  () -> {
                    slots.acquireUninterruptibly();
                    try {
                      results[index] = one(t, action);
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
                      OperationRecord finished =
                          new OperationRecord(
                              operationId,
                              kind,
                              requester,
                              startedMs,
                              clock.millis(),
                              OperationRecord.resultOf(all),
                              all,
                              traceId);
                      try {
                        log.save(finished);
                      } catch (RuntimeException e) {
                        // The targets were operated on: the client must still hear each result, so
                        // the answer
                        // goes out and the missing record is logged loudly instead of hanging the
                        // batch.
                        LOG.log(
                            java.util.logging.Level.SEVERE,
                            "batch "
                                + operationId
                                + " finished ("
                                + finished.success()
                                + " ok, "
                                + finished.failed()
                                + " failed) but its record could not be written to the operations log",
                            e);
                      }
                      batch.setAttribute("ops.batch.failed", finished.failed());
                      batch.end();
                      done.complete(
                          BatchOperateResponse.newBuilder()
                              .setOperationId(operationId)
                              .setTotal(all.size())
                              .setSuccess(finished.success())
                              .setFailed(finished.failed())
                              .addAllResults(all)
                              .build());
                    }
                  }));
    }
    return done;
  }

  private BatchItemResult one(AgentTarget t, Action action) {
    long begun = clock.millis();
    BatchItemResult.Builder r =
        BatchItemResult.newBuilder().setNodeId(t.getNodeId()).setAgentId(t.getAgentId());
    try (Scope ignored = Context.current().makeCurrent()) {
      action.apply(t, r);
    } catch (RuntimeException e) {
      Status s = ErrorMapper.toStatus(e);
      r.setOk(false).setCode(s.getCode().name()).setMessage(String.valueOf(s.getDescription()));
    }
    return r.setDuration(Durations.fromMillis(clock.millis() - begun)).build();
  }

  private static int concurrency(int asked) {
    int concurrency = asked == 0 ? DEFAULT_CONCURRENCY : asked;
    if (concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw OpsException.invalidArgument(
          "concurrency must be between 1 and " + MAX_CONCURRENCY + " (got " + asked + ")");
    }
    return concurrency;
  }

  private static Duration itemTimeout(com.google.protobuf.Duration asked, Duration dflt) {
    Duration timeout = asked != null ? Duration.ofMillis(Durations.toMillis(asked)) : dflt;
    if (timeout.compareTo(Duration.ofSeconds(1)) < 0
        || timeout.compareTo(Duration.ofSeconds(300)) > 0) {
      throw OpsException.invalidArgument(
          "itemTimeout must be between 1s and 300s (got " + timeout.toMillis() + " ms)");
    }
    return timeout;
  }

  private static void check(String field, List<ConfigFile> files) {
    ConfigFileRules.problem(
            field,
            files.stream()
                .map(
                    f ->
                        new ConfigFileRules.FileRef(
                            f.getFileName(),
                            f.getContent().getBytes(StandardCharsets.UTF_8).length))
                .toList())
        .ifPresent(
            problem -> {
              throw OpsException.invalidArgument(problem);
            });
  }

  private static List<io.opsscaffold.api.link.v1.ConfigFile> link(List<ConfigFile> files) {
    return files.stream()
        .map(
            f ->
                io.opsscaffold.api.link.v1.ConfigFile.newBuilder()
                    .setName(f.getFileName())
                    .setContent(f.getContent())
                    .build())
        .toList();
  }

  private static String key(AgentTarget t) {
    return t.getNodeId() + "/" + t.getAgentId();
  }

  private List<AgentTarget> targets(List<AgentTarget> listed, AgentSelector selector) {
    Set<String> seen = new LinkedHashSet<>();
    List<AgentTarget> out = new ArrayList<>();
    for (AgentTarget t : listed) {
      if (t.getNodeId().isBlank() || t.getAgentId().isBlank()) {
        throw OpsException.invalidArgument(
            "targets[" + out.size() + "] needs both nodeId and agentId");
      }
      if (seen.add(key(t))) {
        queries.requireVisible(t.getNodeId()); // the whole batch is refused, not half done
        out.add(t);
      }
    }
    if (selector != null && !selector.equals(AgentSelector.getDefaultInstance())) {
      AgentSelector s = selector;
      var matching =
          queries.selectAgents(
              new FleetRepository.AgentFilter(
                  s.getNodeId(),
                  "",
                  s.getArea(),
                  s.getZone(),
                  s.getHostname(),
                  s.getAddress(),
                  s.getType(),
                  s.getVersion()),
              s.getStatus(),
              s.getLabel());
      for (var v : matching) {
        AgentTarget t =
            AgentTarget.newBuilder()
                .setNodeId(v.node().nodeId())
                .setAgentId(v.agent().agentId())
                .build();
        if (seen.add(key(t))) {
          out.add(t);
        }
      }
    }
    if (out.size() > maxTargets) {
      throw OpsException.resourceExhausted(
          "the batch reaches "
              + out.size()
              + " agents; at most "
              + maxTargets
              + " per batch (limits.max-batch-targets): narrow the selector or split the batch");
    }
    return out;
  }
}
