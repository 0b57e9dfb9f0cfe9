package io.opsscaffold.manager.fleet;

import com.google.protobuf.util.Durations;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetAgentRequest;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.api.fleet.v1.ListAgentsRequest;
import io.opsscaffold.api.fleet.v1.ListAgentsResponse;
import io.opsscaffold.api.fleet.v1.ListNodesRequest;
import io.opsscaffold.api.fleet.v1.ListNodesResponse;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.fleet.v1.OperateAgentRequest;
import io.opsscaffold.api.fleet.v1.OperateAgentResponse;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.manager.link.LinkProtos;
import io.opsscaffold.manager.operations.OperationService;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * gRPC adapter of the fleet API (also served over HTTP/JSON by the transcoder). Translates and
 * delegates; every failure reaches the caller through {@link ErrorMapper}.
 */
public final class FleetGrpcService extends FleetServiceGrpc.FleetServiceImplBase {
  private final FleetQueries queries;
  private final OperationService operations;
  private final io.opsscaffold.manager.operations.BatchOperations batches;
  private final io.opsscaffold.manager.operations.OperationRepository log;
  private final Clock clock;
  private final Alerts alerts;
  private final AgentWatch agentWatch;

  /** The alert log and the engine that feeds watchers. */
  public record Alerts(io.opsscaffold.manager.alerts.AlertRepository log,
      io.opsscaffold.manager.alerts.AlertEngine engine) {}

  @Override
  public void listAlerts(io.opsscaffold.api.fleet.v1.ListAlertsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.ListAlertsResponse> out) {
    ErrorMapper.reply(out, () -> {
      String state = req.getState().toLowerCase(java.util.Locale.ROOT);
      if (!state.isEmpty() && !state.equals("open") && !state.equals("resolved")) {
        throw io.opsscaffold.errors.OpsException.invalidArgument("state must be open or resolved (got '" + req.getState() + "')");
      }
      int[] paging = FleetQueries.paging(req.getPage(), req.getPageSize());
      var b = io.opsscaffold.api.fleet.v1.ListAlertsResponse.newBuilder()
          .setTotal((int) alerts.log().count(state, req.getKind(), req.getArea(), req.getNodeId()))
          .setPage(paging[0]).setPageSize(paging[1]);
      alerts.log().list(state, req.getKind(), req.getArea(), req.getNodeId(), (paging[0] - 1) * paging[1], paging[1])
          .forEach(a -> b.addAlerts(io.opsscaffold.manager.alerts.AlertProtos.alert(a)));
      return b.build();
    });
  }

  @Override
  public void watchAlerts(io.opsscaffold.api.fleet.v1.WatchAlertsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.AlertEvent> out) {
    alerts.engine().watch((io.grpc.stub.ServerCallStreamObserver<io.opsscaffold.api.fleet.v1.AlertEvent>) out);
  }

  @Override
  public void watchAgents(io.opsscaffold.api.fleet.v1.WatchAgentsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.AgentEvent> out) {
    try {
      agentWatch.watch(req, (io.grpc.stub.ServerCallStreamObserver<io.opsscaffold.api.fleet.v1.AgentEvent>) out);
    } catch (RuntimeException e) {
      out.onError(ErrorMapper.toException(e));
    }
  }

  public FleetGrpcService(FleetQueries queries, OperationService operations,
      io.opsscaffold.manager.operations.BatchOperations batches,
      io.opsscaffold.manager.operations.OperationRepository log, Alerts alerts, AgentWatch agentWatch, Clock clock) {
    this.agentWatch = agentWatch;
    this.alerts = alerts;
    this.queries = queries;
    this.operations = operations;
    this.batches = batches;
    this.log = log;
    this.clock = clock;
  }

  @Override
  public void batchOperateAgents(io.opsscaffold.api.fleet.v1.BatchOperateRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.BatchOperateResponse> out) {
    ErrorMapper.replyLater(out, () -> batches.run(req, item -> { }));
  }

  @Override
  public void streamBatchOperateAgents(io.opsscaffold.api.fleet.v1.BatchOperateRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.BatchProgress> out) {
    Object lock = new Object();
    try {
      batches.run(req, item -> {
        synchronized (lock) {
          out.onNext(io.opsscaffold.api.fleet.v1.BatchProgress.newBuilder().setItem(item).build());
        }
      }).whenComplete((r, e) -> {
        synchronized (lock) {
          if (e != null) {
            out.onError(ErrorMapper.toException(e));
          } else {
            out.onNext(io.opsscaffold.api.fleet.v1.BatchProgress.newBuilder().setSummary(r).build());
            out.onCompleted();
          }
        }
      });
    } catch (RuntimeException e) {
      out.onError(ErrorMapper.toException(e));
    }
  }

  @Override
  public void batchPushConfigs(io.opsscaffold.api.fleet.v1.BatchPushConfigsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.BatchOperateResponse> out) {
    ErrorMapper.replyLater(out, () -> batches.pushConfigs(req, item -> { }));
  }

  /** Lines a follower may have waiting before it counts as too slow. */
  static final int FOLLOW_QUEUE = 10_000;

  @Override
  public void followAgentLogs(io.opsscaffold.api.fleet.v1.FollowAgentLogsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent> out) {
    var call = (io.grpc.stub.ServerCallStreamObserver<io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent>) out;
    java.util.concurrent.atomic.AtomicReference<Runnable> cancel = new java.util.concurrent.atomic.AtomicReference<>();
    var stream = new io.opsscaffold.manager.streams.BoundedStream<>(call, FOLLOW_QUEUE, "log lines", s -> {
      Runnable c = cancel.getAndSet(() -> { });
      if (c != null) {
        c.run();
      }
    });
    try {
      Runnable handle = operations.followLogs(req.getNodeId(), req.getAgentId(), req.getLines(),
          new io.opsscaffold.manager.operations.CommandRouter.Follow() {
            private boolean started;

            @Override
            public void lines(java.util.List<String> lines) {
              if (!started) {
                started = true;
                stream.offer(io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent.newBuilder().setFollowing(true).build());
              }
              lines.forEach(l -> stream.offer(io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent.newBuilder()
                  .setLine(l).build()));
            }

            @Override
            public void ended(io.grpc.Status status) {
              cancel.set(() -> { });
              if (status.isOk()) {
                stream.finish();
              } else {
                stream.close(status);
              }
            }
          });
      if (!cancel.compareAndSet(null, handle)) {
        handle.run(); // the client went away while the follow was being set up
      }
    } catch (RuntimeException e) {
      cancel.set(() -> { });
      stream.close(ErrorMapper.toStatus(e));
    }
  }

  @Override
  public void listOperations(io.opsscaffold.api.fleet.v1.ListOperationsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.ListOperationsResponse> out) {
    ErrorMapper.reply(out, () -> {
      int[] paging = FleetQueries.paging(req.getPage(), req.getPageSize());
      var b = io.opsscaffold.api.fleet.v1.ListOperationsResponse.newBuilder()
          .setTotal((int) log.count(req.getKind())).setPage(paging[0]).setPageSize(paging[1]);
      log.list(req.getKind(), (paging[0] - 1) * paging[1], paging[1]).forEach(o -> b.addOperations(FleetProtos.operation(o)));
      return b.build();
    });
  }

  @Override
  public void getOperation(io.opsscaffold.api.fleet.v1.GetOperationRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.Operation> out) {
    ErrorMapper.reply(out, () -> FleetProtos.operation(log.find(req.getOperationId()).orElseThrow(
        () -> io.opsscaffold.errors.OpsException.notFound("operation '" + req.getOperationId() + "' is not in the log"))));
  }

  @Override
  public void listNodes(ListNodesRequest req, StreamObserver<ListNodesResponse> out) {
    ErrorMapper.reply(out, () -> {
      FleetQueries.NodePage page =
          queries.listNodes(req.getArea(), req.getStatus(), req.getPage(), req.getPageSize());
      ListNodesResponse.Builder b =
          ListNodesResponse.newBuilder().setTotal((int) page.total()).setPage(page.page()).setPageSize(page.pageSize());
      Map<String, Integer> counts = queries.agentCounts(page.nodes());
      for (NodeRecord n : page.nodes()) {
        b.addNodes(FleetProtos.node(n, counts.get(n.nodeId())));
      }
      return b.build();
    });
  }

  @Override
  public void getNode(GetNodeRequest req, StreamObserver<Node> out) {
    ErrorMapper.reply(out, () -> {
      NodeRecord n = queries.node(req.getNodeId());
      return FleetProtos.node(n, queries.agentCount(n.nodeId()));
    });
  }

  @Override
  public void listAgents(ListAgentsRequest req, StreamObserver<ListAgentsResponse> out) {
    ErrorMapper.reply(out, () -> {
      ListAgentsResponse.Builder b = ListAgentsResponse.newBuilder();
      for (FleetQueries.AgentView v : queries.agents(req.getNodeId())) {
        b.addAgents(FleetProtos.agent(v));
      }
      return b.setTotal(b.getAgentsCount()).build();
    });
  }

  @Override
  public void getAgent(GetAgentRequest req, StreamObserver<Agent> out) {
    ErrorMapper.reply(out, () -> FleetProtos.agent(queries.agent(req.getNodeId(), req.getAgentId())));
  }

  @Override
  public void listFleetAgents(io.opsscaffold.api.fleet.v1.ListFleetAgentsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse> out) {
    ErrorMapper.reply(out, () -> {
      FleetQueries.AgentPage page = queries.listFleetAgents(
          new FleetRepository.AgentFilter(req.getNodeId(), "", req.getArea(), req.getZone(), req.getHostname(),
              req.getAddress(), req.getType(), req.getVersion()),
          req.getStatus(), req.getLabel(), req.getPage(), req.getPageSize());
      var b = io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse.newBuilder()
          .setTotal((int) page.total()).setPage(page.page()).setPageSize(page.pageSize());
      page.agents().forEach(v -> b.addAgents(FleetProtos.agent(v)));
      return b.build();
    });
  }

  @Override
  public void getFleetAgent(io.opsscaffold.api.fleet.v1.GetFleetAgentRequest req, StreamObserver<Agent> out) {
    ErrorMapper.reply(out, () -> FleetProtos.agent(queries.fleetAgent(req.getAgentId())));
  }

  @Override
  public void getAvailabilitySummary(io.opsscaffold.api.fleet.v1.GetAvailabilitySummaryRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.AvailabilitySummary> out) {
    ErrorMapper.reply(out, () -> {
      FleetQueries.Summary s = queries.summary(
          req.getHostsList().stream().map(h -> h.getIp()).toList(),
          req.getHostsList().stream().map(h -> h.getCloudId()).toList());
      var b = io.opsscaffold.api.fleet.v1.AvailabilitySummary.newBuilder().setOverall(FleetProtos.counts("", s.overall()));
      s.byArea().forEach((k, v) -> b.addByArea(FleetProtos.counts(k, v)));
      s.byBusiness().forEach((k, v) -> b.addByBusiness(FleetProtos.counts(k, v)));
      return b.build();
    });
  }

  @Override
  public void getAgentLogs(io.opsscaffold.api.fleet.v1.GetAgentLogsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.GetAgentLogsResponse> out) {
    ErrorMapper.replyLater(out, () -> operations.readLogs(req.getNodeId(), req.getAgentId(), req.getLines())
        .thenApply(lines -> io.opsscaffold.api.fleet.v1.GetAgentLogsResponse.newBuilder().addAllLines(lines).build()));
  }

  @Override
  public void getAgentMetrics(io.opsscaffold.api.fleet.v1.GetAgentMetricsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.GetAgentMetricsResponse> out) {
    Duration window = req.hasDuration() ? Duration.ofMillis(Durations.toMillis(req.getDuration())) : Duration.ZERO;
    ErrorMapper.replyLater(out, () -> operations.readMetrics(req.getNodeId(), req.getAgentId(), window)
        .thenApply(s -> io.opsscaffold.api.fleet.v1.GetAgentMetricsResponse.newBuilder().addAllSamples(s).build()));
  }

  @Override
  public void operateAgent(OperateAgentRequest req, StreamObserver<OperateAgentResponse> out) {
    Duration timeout =
        req.hasTimeout() ? Duration.ofMillis(Durations.toMillis(req.getTimeout())) : Duration.ZERO;
    ErrorMapper.replyLater(out, () -> operations
        .operate(req.getNodeId(), req.getAgentId(), req.getOperation(), timeout)
        .thenApply(outcome -> {
          var record = LinkProtos.agent(outcome.node().nodeId(), outcome.agent(), clock.millis());
          var view = new FleetQueries.AgentView(
              outcome.node(), record, Availability.of(outcome.node(), record, clock.millis()));
          return OperateAgentResponse.newBuilder()
              .setCommandId(outcome.commandId())
              .setSuccess(true)
              .setMessage(outcome.message())
              .setAgent(FleetProtos.agent(view))
              .setDuration(Durations.fromMillis(outcome.duration().toMillis()))
              .build();
        }));
  }

}
