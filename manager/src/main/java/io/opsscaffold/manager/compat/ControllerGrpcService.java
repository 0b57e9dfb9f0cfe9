package io.opsscaffold.manager.compat;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.ConfigFileRules;
import io.opsscaffold.api.compat.controller.v1.BatchConfigsRequest;
import io.opsscaffold.api.compat.controller.v1.BatchOperateRequest;
import io.opsscaffold.api.compat.controller.v1.BatchResponse;
import io.opsscaffold.api.compat.controller.v1.BatchResult;
import io.opsscaffold.api.compat.controller.v1.ControllerServiceGrpc;
import io.opsscaffold.api.compat.controller.v1.ControllerStatus;
import io.opsscaffold.api.compat.controller.v1.GetStatusRequest;
import io.opsscaffold.api.compat.controller.v1.Host;
import io.opsscaffold.api.compat.controller.v1.HostHealth;
import io.opsscaffold.api.compat.controller.v1.HostRequest;
import io.opsscaffold.api.compat.controller.v1.ListHostsRequest;
import io.opsscaffold.api.compat.controller.v1.ListHostsResponse;
import io.opsscaffold.api.compat.controller.v1.ListPackagesResponse;
import io.opsscaffold.api.compat.controller.v1.Package;
import io.opsscaffold.api.compat.controller.v1.PackageHealth;
import io.opsscaffold.api.compat.controller.v1.PackageRequest;
import io.opsscaffold.api.compat.controller.v1.ServiceMetrics;
import io.opsscaffold.api.compat.controller.v1.ServiceSample;
import io.opsscaffold.api.compat.controller.v1.SystemMetrics;
import io.opsscaffold.api.fleet.v1.AgentTarget;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.api.fleet.v1.BatchPushConfigsRequest;
import io.opsscaffold.api.fleet.v1.ConfigFile;
import io.opsscaffold.api.fleet.v1.ConfigPush;
import io.opsscaffold.api.status.v1.HostStats;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.Availability;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.manager.operations.BatchOperations;
import io.opsscaffold.manager.operations.OperationService;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * The controller compatibility surface (see controller.proto): the platform's vocabulary over the
 * same queries, batches and operations as the fleet API. Translates only; every failure reaches the
 * caller through {@link ErrorMapper}.
 */
public final class ControllerGrpcService extends ControllerServiceGrpc.ControllerServiceImplBase {
  private final FleetRepository repository;
  private final FleetQueries queries;
  private final OperationService operations;
  private final BatchOperations batches;
  private final Clock clock;
  private final long startedMs;
  private final String version;

  public ControllerGrpcService(
      FleetRepository repository,
      FleetQueries queries,
      OperationService operations,
      BatchOperations batches,
      Clock clock,
      String version) {
    this.repository = repository;
    this.queries = queries;
    this.operations = operations;
    this.batches = batches;
    this.clock = clock;
    this.startedMs = clock.millis();
    this.version = version;
  }

  @Override
  public void listHosts(ListHostsRequest req, StreamObserver<ListHostsResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          int[] paging = FleetQueries.paging(req.getPage(), req.getPageSize());
          String status = req.getStatus().trim().toLowerCase(Locale.ROOT);
          if (!status.isEmpty() && !status.equals("online") && !status.equals("offline")) {
            throw OpsException.invalidArgument(
                "status must be online or offline (got '" + req.getStatus() + "')");
          }
          boolean inMemory =
              !req.getId().isBlank()
                  || !req.getAddress().isBlank()
                  || !req.getHostname().isBlank()
                  || !req.getZone().isBlank()
                  || !req.getVersion().isBlank();
          if (!inMemory) {
            // Area and status only: the database pages (a platform lists whole areas this way).
            var dbPage =
                repository.listNodes(
                    req.getArea().trim(),
                    status.toUpperCase(Locale.ROOT),
                    (paging[0] - 1) * paging[1],
                    paging[1]);
            return hosts(dbPage.items(), dbPage.total(), paging);
          }
          List<NodeRecord> matching =
              repository
                  .listNodes(
                      req.getArea().trim(), status.toUpperCase(Locale.ROOT), 0, Integer.MAX_VALUE)
                  .items()
                  .stream()
                  .filter(n -> req.getId().isBlank() || n.nodeId().equals(req.getId().trim()))
                  .filter(n -> req.getAddress().isBlank() || n.ip().equals(req.getAddress().trim()))
                  .filter(
                      n ->
                          req.getHostname().isBlank()
                              || n.hostname().equals(req.getHostname().trim()))
                  .filter(n -> req.getZone().isBlank() || n.zone().equals(req.getZone().trim()))
                  .filter(
                      n ->
                          req.getVersion().isBlank()
                              || n.daemonVersion().equals(req.getVersion().trim()))
                  .toList();
          return hosts(FleetQueries.page(matching, paging), matching.size(), paging);
        });
  }

  /** One page of hosts, their agents read in one query (not one per host). */
  private ListHostsResponse hosts(List<NodeRecord> page, long total, int[] paging) {
    ListHostsResponse.Builder b =
        ListHostsResponse.newBuilder()
            .setTotal((int) total)
            .setPage(paging[0])
            .setPageSize(paging[1]);
    var agents = queries.agents(page);
    for (NodeRecord n : page) {
      b.addAgents(host(n, agents.get(n.nodeId())));
    }
    return b.build();
  }

  @Override
  public void getHost(HostRequest req, StreamObserver<Host> out) {
    ErrorMapper.reply(
        out,
        () -> {
          NodeRecord n = node(req.getAgentId());
          return host(n, queries.agents(n));
        });
  }

  @Override
  public void listPackages(HostRequest req, StreamObserver<ListPackagesResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          ListPackagesResponse.Builder b =
              ListPackagesResponse.newBuilder().setAgentId(req.getAgentId());
          queries.agents(node(req.getAgentId())).forEach(v -> b.addPackages(pkg(v)));
          return b.setTotal(b.getPackagesCount()).build();
        });
  }

  @Override
  public void getHostHealth(HostRequest req, StreamObserver<HostHealth> out) {
    ErrorMapper.reply(
        out,
        () -> {
          NodeRecord n = node(req.getAgentId());
          List<FleetQueries.AgentView> agents = queries.agents(n);
          HostHealth.Builder b =
              HostHealth.newBuilder()
                  .setAgentId(n.nodeId())
                  .setOverallStatus(overall(n, agents))
                  .setCheckedAt(Timestamps.fromMillis(clock.millis()));
          agents.forEach(v -> b.addPackages(health(v)));
          return b.build();
        });
  }

  @Override
  public void getPackageHealth(PackageRequest req, StreamObserver<PackageHealth> out) {
    ErrorMapper.reply(
        out,
        () -> {
          node(req.getAgentId());
          if (req.getPackage().isBlank()) {
            throw OpsException.invalidArgument("package is required");
          }
          return health(queries.agent(req.getAgentId(), req.getPackage()));
        });
  }

  @Override
  public void getSystemMetrics(HostRequest req, StreamObserver<SystemMetrics> out) {
    ErrorMapper.reply(
        out,
        () -> {
          NodeRecord n = node(req.getAgentId());
          if (n.hostStatsJson().isEmpty()) {
            throw OpsException.unavailable(
                "host " + n.nodeId() + "'s daemon has not reported system metrics yet");
          }
          HostStats.Builder s = HostStats.newBuilder();
          try {
            JsonFormat.parser().ignoringUnknownFields().merge(n.hostStatsJson(), s);
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw OpsException.unavailable(
                "host " + n.nodeId() + "'s stored metrics are unreadable: " + e.getMessage());
          }
          long used = s.getMemoryTotalBytes() - s.getMemoryAvailableBytes();
          return SystemMetrics.newBuilder()
              .setAgentId(n.nodeId())
              .setCollectedAt(s.getAt())
              .setCpuPercent(s.getCpuPercent())
              .setCpuCores(s.getCores())
              .setMemoryTotalBytes(s.getMemoryTotalBytes())
              .setMemoryUsedBytes(used)
              .setMemoryPercent(
                  s.getMemoryTotalBytes() == 0 ? 0 : 100.0 * used / s.getMemoryTotalBytes())
              .setDiskTotalBytes(s.getDiskTotalBytes())
              .setDiskUsedBytes(s.getDiskTotalBytes() - s.getDiskFreeBytes())
              .setLoad1(s.getLoad1())
              .setLoad5(s.getLoad5())
              .setLoad15(s.getLoad15())
              .setUptimeSeconds(s.getUptimeSeconds())
              .build();
        });
  }

  @Override
  public void getServiceMetrics(HostRequest req, StreamObserver<ServiceMetrics> out) {
    ErrorMapper.replyLater(
        out,
        () -> {
          NodeRecord n = node(req.getAgentId());
          List<FleetQueries.AgentView> agents = queries.agents(n);
          List<CompletableFuture<ServiceSample>> samples = new ArrayList<>();
          for (FleetQueries.AgentView v : agents) {
            String name = v.agent().agentId();
            samples.add(
                operations
                    .readMetrics(n.nodeId(), name, Duration.ofMinutes(1))
                    .thenApply(
                        list -> {
                          ServiceSample.Builder s = ServiceSample.newBuilder().setPackage(name);
                          if (!list.isEmpty()) {
                            var last = list.get(list.size() - 1);
                            s.setCollectedAt(last.getAt())
                                .setCpuPercent(last.getCpuPercent())
                                .setMemoryRssBytes(last.getRssBytes())
                                .setThreads(last.getThreads())
                                .setOpenFiles(last.getOpenFiles());
                          }
                          return s.build();
                        }));
          }
          return CompletableFuture.allOf(samples.toArray(CompletableFuture[]::new))
              .thenApply(
                  x -> {
                    ServiceMetrics.Builder b = ServiceMetrics.newBuilder().setAgentId(n.nodeId());
                    samples.forEach(f -> b.addServices(f.join()));
                    return b.build();
                  });
        });
  }

  @Override
  public void getStatus(GetStatusRequest req, StreamObserver<ControllerStatus> out) {
    ErrorMapper.reply(
        out,
        () -> {
          var all = repository.listNodes("", "", 0, 1);
          var online = repository.listNodes("", NodeConnectivity.ONLINE.name(), 0, 1);
          var agents =
              queries.selectAgents(
                  new FleetRepository.AgentFilter("", "", "", "", "", "", "", ""), "", "");
          return ControllerStatus.newBuilder()
              .setStatus("ok")
              .setVersion(version)
              .setAgentsTotal((int) all.total())
              .setAgentsOnline((int) online.total())
              .setPackagesTotal(agents.size())
              .setPackagesHealthy(
                  (int) agents.stream().filter(v -> v.availability() == Availability.ON).count())
              .setUptimeSeconds((clock.millis() - startedMs) / 1000)
              .build();
        });
  }

  @Override
  public void batchOperate(BatchOperateRequest req, StreamObserver<BatchResponse> out) {
    ErrorMapper.replyLater(
        out,
        () -> {
          List<AgentTarget> targets =
              targets(req.getAgentsList(), req.getPackagesList(), "packages");
          return batches
              .run(
                  io.opsscaffold.api.fleet.v1.BatchOperateRequest.newBuilder()
                      .setOperation(req.getOperation())
                      .addAllTargets(targets)
                      .build(),
                  item -> {})
              .thenApply(ControllerGrpcService::response);
        });
  }

  @Override
  public void batchConfigs(BatchConfigsRequest req, StreamObserver<BatchResponse> out) {
    ErrorMapper.replyLater(
        out,
        () -> {
          if (req.getPackage().isBlank()) {
            throw OpsException.invalidArgument("package is required");
          }
          ConfigFileRules.problem(
                  "configs",
                  "file_name",
                  req.getConfigsList().stream()
                      .map(
                          c ->
                              new ConfigFileRules.FileRef(
                                  c.getFileName(),
                                  c.getContent().getBytes(StandardCharsets.UTF_8).length))
                      .toList())
              .ifPresent(
                  p -> {
                    throw OpsException.invalidArgument(p);
                  });
          List<ConfigFile> files =
              req.getConfigsList().stream()
                  .map(
                      c ->
                          ConfigFile.newBuilder()
                              .setFileName(c.getFileName())
                              .setContent(c.getContent())
                              .build())
                  .toList();
          BatchPushConfigsRequest.Builder push = BatchPushConfigsRequest.newBuilder();
          for (AgentTarget t : targets(req.getAgentsList(), List.of(req.getPackage()), "package")) {
            push.addPushes(
                ConfigPush.newBuilder()
                    .setNodeId(t.getNodeId())
                    .setAgentId(t.getAgentId())
                    .addAllFiles(files));
          }
          return batches
              .pushConfigs(push.build(), item -> {})
              .thenApply(ControllerGrpcService::response);
        });
  }

  private static List<AgentTarget> targets(
      List<String> hosts, List<String> packages, String packagesField) {
    if (hosts.isEmpty()) {
      throw OpsException.invalidArgument("agents is required: the ids of the hosts to act on");
    }
    if (packages.isEmpty()) {
      throw OpsException.invalidArgument(
          packagesField + " is required: the names of the packages to act on");
    }
    List<AgentTarget> targets = new ArrayList<>();
    for (int i = 0; i < hosts.size(); i++) {
      if (hosts.get(i).isBlank()) {
        throw OpsException.invalidArgument("agents[" + i + "] is empty");
      }
      for (int j = 0; j < packages.size(); j++) {
        if (packages.get(j).isBlank()) {
          throw OpsException.invalidArgument(
              packagesField + (packages.size() > 1 ? "[" + j + "]" : "") + " is empty");
        }
        targets.add(
            AgentTarget.newBuilder().setNodeId(hosts.get(i)).setAgentId(packages.get(j)).build());
      }
    }
    return targets;
  }

  private static BatchResponse response(BatchOperateResponse r) {
    BatchResponse.Builder b =
        BatchResponse.newBuilder()
            .setTotal(r.getTotal())
            .setSuccess(r.getSuccess())
            .setFailed(r.getFailed())
            .setOperationId(r.getOperationId());
    for (BatchItemResult i : r.getResultsList()) {
      b.addResults(
          BatchResult.newBuilder()
              .setAgentId(i.getNodeId())
              .setPackage(i.getAgentId())
              .setSuccess(i.getOk())
              .setCode(i.getCode())
              .setMessage(i.getMessage())
              .setDurationMs(Durations.toMillis(i.getDuration()))
              .setOutcome(i.getOutcome()));
    }
    return b.build();
  }

  private NodeRecord node(String hostId) {
    FleetQueries.requireId("agent_id", hostId);
    return repository
        .findNode(hostId)
        .orElseThrow(
            () ->
                OpsException.notFound(
                    "agent (host) '" + hostId + "' is not known to the controller"));
  }

  private Host host(NodeRecord n, List<FleetQueries.AgentView> agents) {
    Host.Builder b =
        Host.newBuilder()
            .setId(n.nodeId())
            .setHostname(n.hostname())
            .setAddress(n.ip())
            .setArea(n.area())
            .setZone(n.zone())
            .setVersion(n.daemonVersion())
            .setStatus(n.online() ? "online" : "offline")
            .setHealthStatus(overall(n, agents))
            .setOs(n.os())
            .setArch(n.arch())
            .setCloudId(n.cloudId())
            .setAgentCode(n.cloudId() + ":" + n.ip())
            .putAllLabels(n.labels());
    long heard = n.online() ? clock.millis() : n.lastSeenMs();
    if (heard > 0) {
      b.setLastHeartbeat(Timestamps.fromMillis(heard));
    }
    agents.forEach(v -> b.addServices(pkg(v)));
    return b.build();
  }

  private static String overall(NodeRecord n, List<FleetQueries.AgentView> agents) {
    if (!n.online() || agents.isEmpty()) {
      return "unknown";
    }
    return agents.stream().allMatch(v -> v.availability() == Availability.ON)
        ? "healthy"
        : "unhealthy";
  }

  private static String healthOf(Availability a) {
    return switch (a) {
      case ON -> "healthy";
      case UNKNOWN -> "unknown";
      default -> "unhealthy";
    };
  }

  private static Package pkg(FleetQueries.AgentView v) {
    Package.Builder b =
        Package.newBuilder()
            .setName(v.agent().agentId())
            .setType(v.agent().type())
            .setStatus(v.agent().lifecycle().name().toLowerCase(Locale.ROOT))
            .setHealthStatus(healthOf(v.availability()))
            .setAvailability(v.availability().code())
            .setPid((int) v.agent().pid())
            .setRestartCount((int) v.agent().restartCount())
            .setMessage(v.agent().message());
    if (v.agent().lastHeartbeatMs() > 0) {
      b.setLastHeartbeat(Timestamps.fromMillis(v.agent().lastHeartbeatMs()));
    }
    return b.build();
  }

  private static PackageHealth health(FleetQueries.AgentView v) {
    return PackageHealth.newBuilder()
        .setPackage(v.agent().agentId())
        .setStatus(healthOf(v.availability()))
        .setAvailability(v.availability().code())
        .setAvailabilityName(v.availability().name())
        .setMessage(v.agent().message())
        .build();
  }
}
