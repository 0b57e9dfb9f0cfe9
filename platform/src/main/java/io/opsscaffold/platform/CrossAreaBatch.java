package io.opsscaffold.platform;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.fleet.v1.AgentTarget;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.api.fleet.v1.BatchPushConfigsRequest;
import io.opsscaffold.api.fleet.v1.ConfigPush;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.platform.v1.Agent;
import io.opsscaffold.api.platform.v1.AreaOutcome;
import io.opsscaffold.api.platform.v1.BatchConfigsRequest;
import io.opsscaffold.api.platform.v1.BatchOperateRequest;
import io.opsscaffold.api.platform.v1.BatchResponse;
import io.opsscaffold.api.platform.v1.ItemResult;
import io.opsscaffold.api.platform.v1.Target;
import io.opsscaffold.errors.OpsException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A batch across areas: targets resolved (an agent code through the index), grouped by area, each
 * area's part sent to one of its controllers as that area's own batch (the fleet API's, so the
 * area's operations log records it), areas at most {@code workers.max} at a time. Every item gets
 * exactly one result: a target that cannot be resolved is NOT_FOUND; an area without an online
 * controller, or whose controller fails, has each of its items not yet reported answered
 * UNAVAILABLE, saying whether it may have run. A batch is never retried (a restart is not
 * idempotent).
 */
final class CrossAreaBatch {
  /** How long one area's part may take at most (its controller bounds each item itself). */
  static final long AREA_DEADLINE_MS = TimeUnit.MINUTES.toMillis(30);

  private final Areas areas;
  private final AgentIndex index;
  private final Controllers controllers;
  private final Semaphore workers;
  private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();

  CrossAreaBatch(Areas areas, AgentIndex index, Controllers controllers, Semaphore workers) {
    this.areas = areas;
    this.index = index;
    this.controllers = controllers;
    this.workers = workers;
  }

  /** One item: a resolved or unresolved target and a service, in request order. */
  private record Item(int order, String area, String id, String code, String service) {
    ItemResult.Builder result() {
      return ItemResult.newBuilder().setArea(area).setId(id).setAgentCode(code).setService(service);
    }
  }

  /** What one area's part sends. */
  private interface Part {
    /**
     * Runs the part on {@code channel}, telling each result as it comes; returns the area's
     * operations log entry.
     */
    String run(io.grpc.Channel channel, List<Item> items, Consumer<BatchItemResult> each)
        throws StatusRuntimeException;
  }

  /** Start, stop or restart. */
  BatchResponse operate(BatchOperateRequest req, Consumer<ItemResult> progress) {
    String op = req.getOperation().trim().toLowerCase(Locale.ROOT);
    if (!List.of("start", "stop", "restart").contains(op)) {
      throw OpsException.invalidArgument(
          "operation must be start, stop or restart (got '" + req.getOperation() + "')");
    }
    List<String> services = services(req.getServicesList(), "services");
    List<Item> items = items(req.getTargetsList(), services);
    return run(
        items,
        progress,
        (channel, part, each) -> {
          var request =
              io.opsscaffold.api.fleet.v1.BatchOperateRequest.newBuilder().setOperation(op);
          part.forEach(
              i ->
                  request.addTargets(
                      AgentTarget.newBuilder().setNodeId(i.id()).setAgentId(i.service())));
          Iterator<io.opsscaffold.api.fleet.v1.BatchProgress> steps =
              FleetServiceGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(AREA_DEADLINE_MS, TimeUnit.MILLISECONDS)
                  .streamBatchOperateAgents(request.build());
          String operationId = "";
          while (steps.hasNext()) {
            var step = steps.next();
            if (step.hasItem()) {
              each.accept(step.getItem());
            } else if (step.hasSummary()) {
              operationId = step.getSummary().getOperationId();
            }
          }
          return operationId;
        });
  }

  /** Configuration files for one service. */
  BatchResponse configs(BatchConfigsRequest req, Consumer<ItemResult> progress) {
    String service = req.getService().trim();
    if (service.isEmpty()) {
      throw OpsException.invalidArgument("service is required");
    }
    if (req.getConfigsCount() == 0) {
      throw OpsException.invalidArgument("configs: at least one file is required");
    }
    List<Item> items = items(req.getTargetsList(), List.of(service));
    List<io.opsscaffold.api.fleet.v1.ConfigFile> files = new ArrayList<>();
    req.getConfigsList()
        .forEach(
            f ->
                files.add(
                    io.opsscaffold.api.fleet.v1.ConfigFile.newBuilder()
                        .setFileName(f.getFileName())
                        .setContent(f.getContent())
                        .build()));
    return run(
        items,
        progress,
        (channel, part, each) -> {
          BatchPushConfigsRequest.Builder request = BatchPushConfigsRequest.newBuilder();
          part.forEach(
              i ->
                  request.addPushes(
                      ConfigPush.newBuilder()
                          .setNodeId(i.id())
                          .setAgentId(i.service())
                          .addAllFiles(files)));
          BatchOperateResponse r =
              FleetServiceGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(AREA_DEADLINE_MS, TimeUnit.MILLISECONDS)
                  .batchPushConfigs(request.build());
          r.getResultsList().forEach(each);
          return r.getOperationId();
        });
  }

  private static List<String> services(List<String> given, String field) {
    List<String> out = new ArrayList<>();
    for (String s : given) {
      if (s.isBlank()) {
        throw OpsException.invalidArgument(field + ": a service name is empty");
      }
      if (!out.contains(s.trim())) {
        out.add(s.trim());
      }
    }
    if (out.isEmpty()) {
      throw OpsException.invalidArgument(field + ": at least one service is required");
    }
    return out;
  }

  /** The items in request order; a code is resolved through the index now. */
  private List<Item> items(List<Target> targets, List<String> services) {
    if (targets.isEmpty()) {
      throw OpsException.invalidArgument("targets: at least one agent is required");
    }
    if ((long) targets.size() * services.size() > 100_000) {
      throw OpsException.invalidArgument("targets × services: at most 100000 items per batch");
    }
    AgentIndex.View view = index.view();
    var byCode = view.byCode();
    var byAreaAndId = view.byAreaAndId();
    List<Item> items = new ArrayList<>();
    for (int t = 0; t < targets.size(); t++) {
      Target target = targets.get(t);
      String code = target.getAgentCode().trim();
      String area = target.getArea().trim();
      String id = target.getId().trim();
      if (code.isEmpty() && (area.isEmpty() || id.isEmpty())) {
        throw OpsException.invalidArgument("targets[" + t + "]: give agentCode, or area and id");
      }
      if (!code.isEmpty() && id.isEmpty()) {
        List<Agent> found = byCode.getOrDefault(code, List.of());
        String named = area;
        List<Agent> inArea =
            named.isEmpty()
                ? found
                : found.stream().filter(a -> a.getArea().equals(named)).toList();
        if (inArea.size() == 1) {
          area = inArea.getFirst().getArea();
          id = inArea.getFirst().getId();
        } else {
          area = inArea.isEmpty() ? area : "";
        }
      } else if (code.isEmpty()) {
        // Named by area and id: its code, when the index knows the host, for the results.
        Agent known = byAreaAndId.get(AgentIndex.View.key(area, id));
        code = known == null ? "" : known.getAgentCode();
      }
      for (String service : services) {
        items.add(new Item(items.size(), area, id, code, service));
      }
    }
    return items;
  }

  private BatchResponse run(List<Item> items, Consumer<ItemResult> progress, Part part) {
    ItemResult[] results = new ItemResult[items.size()];
    Object lock = new Object();
    Consumer<ItemResult.Builder> done =
        r -> {
          ItemResult result = r.build();
          synchronized (lock) {
            progress.accept(result);
          }
        };
    Map<String, List<Item>> byArea = new LinkedHashMap<>();
    Map<String, AreaOutcome.Builder> outcomes = new LinkedHashMap<>();
    var byCode = index.view().byCode();
    for (Item i : items) {
      if (i.id().isEmpty()) {
        List<Agent> found = byCode.getOrDefault(i.code(), List.of());
        ItemResult r =
            i.result()
                .setCode(found.size() > 1 ? "FAILED_PRECONDITION" : "NOT_FOUND")
                .setMessage(
                    found.size() > 1
                        ? "agent code "
                            + i.code()
                            + " is in areas "
                            + found.stream().map(Agent::getArea).toList()
                            + "; name the area"
                        : "no agent with code " + i.code() + missingNote())
                .build();
        results[i.order()] = r;
        synchronized (lock) {
          progress.accept(r);
        }
        continue;
      }
      byArea.computeIfAbsent(i.area(), a -> new ArrayList<>()).add(i);
    }
    List<CompletableFuture<Void>> parts = new ArrayList<>();
    // Each area's part runs in the caller's trace (the span context, not the call's cancellation:
    // a batch runs to its end).
    io.opentelemetry.context.Context trace = io.opentelemetry.context.Context.current();
    for (var e : byArea.entrySet()) {
      AreaOutcome.Builder outcome = AreaOutcome.newBuilder().setArea(e.getKey());
      outcomes.put(e.getKey(), outcome);
      parts.add(
          CompletableFuture.runAsync(
              trace.wrap(() -> runArea(e.getKey(), e.getValue(), part, outcome, results, done)),
              pool));
    }
    CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).join();
    BatchResponse.Builder response = BatchResponse.newBuilder().setTotal(items.size());
    for (ItemResult r : results) {
      response.addResults(r);
      if (r.getSuccess()) {
        response.setSuccess(response.getSuccess() + 1);
      } else {
        response.setFailed(response.getFailed() + 1);
      }
    }
    outcomes.values().forEach(o -> response.addAreas(o.build()));
    return response.build();
  }

  private String missingNote() {
    List<String> missing = index.view().missing();
    return missing.isEmpty() ? "" : " (areas not listed now: " + missing + ")";
  }

  private static String key(String id, String service) {
    return id + "\u0000" + service;
  }

  private void runArea(
      String area,
      List<Item> items,
      Part part,
      AreaOutcome.Builder outcome,
      ItemResult[] results,
      Consumer<ItemResult.Builder> done) {
    outcome.setTotal(items.size());
    // A host and service named twice (by code and by area and id, say) is operated once; each
    // naming gets the result.
    Map<String, List<Item>> pending = new LinkedHashMap<>();
    items.forEach(
        i -> pending.computeIfAbsent(key(i.id(), i.service()), k -> new ArrayList<>()).add(i));
    List<Item> once = pending.values().stream().map(List::getFirst).toList();
    Consumer<ItemResult.Builder> record =
        r -> {
          List<Item> named = pending.remove(key(r.getId(), r.getService()));
          if (named == null) {
            return; // not ours, or told twice
          }
          for (Item i : named) {
            ItemResult.Builder each = r.clone().setAgentCode(i.code());
            ItemResult built = each.build();
            results[i.order()] = built;
            if (built.getSuccess()) {
              outcome.setSuccess(outcome.getSuccess() + 1);
            } else {
              outcome.setFailed(outcome.getFailed() + 1);
            }
            done.accept(each);
          }
        };
    String code = "OK";
    String message = "";
    try {
      workers.acquire();
      try {
        Optional<Areas.Pick> pick = areas.pick(area);
        if (pick.isEmpty()) {
          code = "UNAVAILABLE";
          message =
              areas.known().contains(area)
                  ? "area " + area + " has no online controller; not run"
                  : "area " + area + " is not known to the platform; not run";
        } else {
          Areas.Candidate c = pick.get().first();
          outcome.setControllerId(c.id());
          try {
            io.grpc.Channel channel = controllers.channel(area, c.api());
            String operationId =
                part.run(
                    channel,
                    once,
                    r ->
                        record.accept(
                            ItemResult.newBuilder()
                                .setArea(area)
                                .setId(r.getNodeId())
                                .setService(r.getAgentId())
                                .setSuccess(r.getOk())
                                .setCode(r.getCode())
                                .setMessage(r.getMessage())
                                .setOutcome(r.getOutcome())));
            outcome.setOperationId(operationId);
          } catch (Controllers.Unreachable e) {
            code = "UNAVAILABLE";
            message =
                "area "
                    + area
                    + "'s controller "
                    + c.id()
                    + " cannot be called: "
                    + e.getMessage()
                    + "; not run";
          } catch (StatusRuntimeException e) {
            Status s = e.getStatus();
            code = s.getCode().name();
            message =
                "area "
                    + area
                    + "'s controller "
                    + c.id()
                    + " failed during the batch ("
                    + s.getCode()
                    + Optional.ofNullable(s.getDescription()).map(d -> ": " + d).orElse("")
                    + "); the outcome of items it did not report is unknown";
          }
        }
      } finally {
        workers.release();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      code = "CANCELLED";
      message = "the platform stopped before area " + area + "'s part ran";
    }
    if (!pending.isEmpty()) {
      // Not reported: the area's failure for each (UNAVAILABLE when it could not run or went away
      // during the batch), or UNKNOWN when the controller ended the batch without them.
      String itemCode = "OK".equals(code) ? "UNKNOWN" : code;
      String itemMessage =
          "OK".equals(code) ? "area " + area + "'s controller did not report this item" : message;
      if ("OK".equals(code)) {
        code = "UNKNOWN";
        message = "the controller did not report " + pending.size() + " items";
      }
      for (Item i : once) {
        if (pending.containsKey(key(i.id(), i.service()))) {
          record.accept(i.result().setSuccess(false).setCode(itemCode).setMessage(itemMessage));
        }
      }
    }
    outcome.setCode(code).setMessage(message);
  }
}
