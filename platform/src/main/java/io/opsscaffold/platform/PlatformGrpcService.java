package io.opsscaffold.platform;

import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.platform.v1.Agent;
import io.opsscaffold.api.platform.v1.AreaAvailability;
import io.opsscaffold.api.platform.v1.AvailabilityResponse;
import io.opsscaffold.api.platform.v1.BatchConfigsRequest;
import io.opsscaffold.api.platform.v1.BatchOperateRequest;
import io.opsscaffold.api.platform.v1.BatchProgress;
import io.opsscaffold.api.platform.v1.BatchResponse;
import io.opsscaffold.api.platform.v1.Controller;
import io.opsscaffold.api.platform.v1.GetAgentRequest;
import io.opsscaffold.api.platform.v1.GetAvailabilityRequest;
import io.opsscaffold.api.platform.v1.ListAgentsRequest;
import io.opsscaffold.api.platform.v1.ListAgentsResponse;
import io.opsscaffold.api.platform.v1.ListControllersRequest;
import io.opsscaffold.api.platform.v1.ListControllersResponse;
import io.opsscaffold.api.platform.v1.PlatformServiceGrpc;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.FleetQueries;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** The platform's API: reads from the index and the discovery, batches across areas. */
final class PlatformGrpcService extends PlatformServiceGrpc.PlatformServiceImplBase {
  private final Discovery discovery;
  private final Areas areas;
  private final AgentIndex index;
  private final CrossAreaBatch batches;
  private final Clock clock;
  private final Duration controllersTtl;

  PlatformGrpcService(
      Discovery discovery,
      Areas areas,
      AgentIndex index,
      CrossAreaBatch batches,
      Clock clock,
      Duration controllersTtl) {
    this.discovery = discovery;
    this.areas = areas;
    this.index = index;
    this.batches = batches;
    this.clock = clock;
    this.controllersTtl = controllersTtl;
  }

  @Override
  public void listControllers(
      ListControllersRequest req, StreamObserver<ListControllersResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          ListControllersResponse.Builder b = ListControllersResponse.newBuilder();
          for (Discovery.Registered r : discovery.all()) {
            var rec = r.record();
            Controller.Builder c =
                Controller.newBuilder()
                    .setId(rec.getId())
                    .setArea(rec.getArea())
                    .setAddress(rec.getAddress())
                    .setStatus(
                        r.usable(clock, controllersTtl, discovery.synced()) ? "online" : "offline")
                    .setVersion(rec.getVersion())
                    .setAgentCount(rec.getAgentCount())
                    .putAllMetadata(rec.getMetadataMap())
                    .setSelected(
                        areas.selectedId(rec.getArea()).map(rec.getId()::equals).orElse(false));
            if (rec.hasStartTime()) {
              c.setStartTime(rec.getStartTime());
            }
            if (rec.hasLastHeartbeat()) {
              c.setLastHeartbeat(rec.getLastHeartbeat());
            }
            b.addControllers(c);
          }
          b.addAllOfflineAreas(areas.offline());
          return b.build();
        });
  }

  @Override
  public void listAgents(ListAgentsRequest req, StreamObserver<ListAgentsResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          int[] paging = FleetQueries.paging(req.getPage(), req.getPageSize());
          String status = lower(req.getStatus());
          if (!status.isEmpty() && !List.of("online", "offline").contains(status)) {
            throw OpsException.invalidArgument(
                "status must be online or offline (got '" + req.getStatus() + "')");
          }
          String health = lower(req.getHealthStatus());
          if (!health.isEmpty() && !List.of("healthy", "unhealthy", "unknown").contains(health)) {
            throw OpsException.invalidArgument(
                "healthStatus must be healthy, unhealthy or unknown (got '"
                    + req.getHealthStatus()
                    + "')");
          }
          String area = req.getArea().trim();
          Predicate<Agent> keep =
              a ->
                  (status.isEmpty() || a.getStatus().equals(status))
                      && (health.isEmpty() || a.getHealthStatus().equals(health))
                      && (req.getAddress().isBlank()
                          || a.getAddress().equals(req.getAddress().trim()))
                      && (req.getVersion().isBlank()
                          || a.getVersion().equals(req.getVersion().trim()));
          AgentIndex.View view = index.view();
          int from = (paging[0] - 1) * paging[1];
          int total = 0;
          List<Agent> page = new ArrayList<>(Math.min(paging[1], 1000));
          for (AgentIndex.Listing l : view.listings()) {
            if (!area.isEmpty() && !l.area().equals(area)) {
              continue;
            }
            com.google.protobuf.Duration age = index.age(l);
            for (Agent a : l.agents()) {
              if (keep.test(a)) {
                if (total >= from && page.size() < paging[1]) {
                  page.add(a.toBuilder().setAge(age).build());
                }
                total++;
              }
            }
          }
          ListAgentsResponse.Builder b =
              ListAgentsResponse.newBuilder()
                  .addAllAgents(page)
                  .setTotal(total)
                  .setPage(paging[0])
                  .setPageSize(paging[1]);
          view.missing().stream()
              .filter(m -> area.isEmpty() || m.equals(area))
              .forEach(b::addMissingAreas);
          view.stale().stream()
              .filter(s -> area.isEmpty() || s.getArea().equals(area))
              .forEach(b::addStaleAreas);
          if (!area.isEmpty() && !areas.known().contains(area)) {
            throw OpsException.notFound(
                "area '"
                    + area
                    + "' has never had a controller in etcd (known: "
                    + areas.known()
                    + ")");
          }
          return b.build();
        });
  }

  @Override
  public void getAgent(GetAgentRequest req, StreamObserver<Agent> out) {
    ErrorMapper.reply(
        out,
        () -> {
          String code = req.getAgentCode().trim();
          if (code.isEmpty()) {
            throw OpsException.invalidArgument("agentCode is required");
          }
          AgentIndex.View view = index.view();
          List<Agent> found = view.byCode().getOrDefault(code, List.of());
          if (found.size() > 1) {
            throw OpsException.failedPrecondition(
                "agent code "
                    + code
                    + " is in several areas: "
                    + found.stream().map(Agent::getArea).toList());
          }
          if (found.isEmpty()) {
            throw OpsException.notFound(
                "no agent with code "
                    + code
                    + (view.missing().isEmpty()
                        ? ""
                        : "; areas not listed now, where it might be: " + view.missing()));
          }
          Agent a = found.getFirst();
          for (AgentIndex.Listing l : view.listings()) {
            if (l.area().equals(a.getArea())) {
              return a.toBuilder().setAge(index.age(l)).build();
            }
          }
          return a;
        });
  }

  @Override
  public void getAvailability(
      GetAvailabilityRequest req, StreamObserver<AvailabilityResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          AgentIndex.View view = index.view();
          AvailabilityResponse.Builder b = AvailabilityResponse.newBuilder();
          for (AgentIndex.Listing l : view.listings()) {
            AreaAvailability a = l.availability().toBuilder().setAge(index.age(l)).build();
            b.addAreas(a);
          }
          b.addAllMissingAreas(view.missing()).addAllStaleAreas(view.stale());
          return b.build();
        });
  }

  @Override
  public void batchOperate(BatchOperateRequest req, StreamObserver<BatchResponse> out) {
    ErrorMapper.reply(out, () -> batches.operate(req, r -> {}));
  }

  @Override
  public void streamBatchOperate(BatchOperateRequest req, StreamObserver<BatchProgress> out) {
    BatchResponse summary;
    try {
      summary =
          batches.operate(
              req,
              r -> {
                try {
                  out.onNext(BatchProgress.newBuilder().setItem(r).build());
                } catch (RuntimeException gone) {
                  // the caller went away; the batch runs to its end regardless (not cancellable)
                }
              });
    } catch (RuntimeException e) {
      out.onError(ErrorMapper.toException(e));
      return;
    }
    try {
      out.onNext(BatchProgress.newBuilder().setSummary(summary).build());
      out.onCompleted();
    } catch (RuntimeException gone) {
      // the caller went away
    }
  }

  @Override
  public void batchConfigs(BatchConfigsRequest req, StreamObserver<BatchResponse> out) {
    ErrorMapper.reply(out, () -> batches.configs(req, r -> {}));
  }

  private static String lower(String s) {
    return s.trim().toLowerCase(Locale.ROOT);
  }
}
