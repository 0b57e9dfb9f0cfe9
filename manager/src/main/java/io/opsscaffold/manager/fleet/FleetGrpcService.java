package io.opsscaffold.manager.fleet;

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
import io.opsscaffold.errors.ErrorMapper;
import java.util.Map;

/**
 * gRPC adapter of the fleet's reads: nodes, agents, availability and the agent watch (also served
 * over HTTP/JSON by the transcoder). Implements its part of {@code FleetService}; operations and
 * alerts have adapters of their own, composed into one service by the manager. Translates and
 * delegates; every failure reaches the caller through {@link ErrorMapper}.
 */
public final class FleetGrpcService implements FleetServiceGrpc.AsyncService {
  private final FleetQueries queries;
  private final AgentWatch agentWatch;

  public FleetGrpcService(FleetQueries queries, AgentWatch agentWatch) {
    this.queries = queries;
    this.agentWatch = agentWatch;
  }

  @Override
  public void listNodes(ListNodesRequest req, StreamObserver<ListNodesResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          FleetQueries.NodePage page =
              queries.listNodes(req.getArea(), req.getStatus(), req.getPage(), req.getPageSize());
          ListNodesResponse.Builder b =
              ListNodesResponse.newBuilder()
                  .setTotal((int) page.total())
                  .setPage(page.page())
                  .setPageSize(page.pageSize());
          Map<String, Integer> counts = queries.agentCounts(page.nodes());
          for (NodeRecord n : page.nodes()) {
            b.addNodes(FleetProtos.node(n, counts.get(n.nodeId())));
          }
          return b.build();
        });
  }

  @Override
  public void getNode(GetNodeRequest req, StreamObserver<Node> out) {
    ErrorMapper.reply(
        out,
        () -> {
          NodeRecord n = queries.node(req.getNodeId());
          return FleetProtos.node(n, queries.agentCount(n.nodeId()));
        });
  }

  @Override
  public void listAgents(ListAgentsRequest req, StreamObserver<ListAgentsResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          ListAgentsResponse.Builder b = ListAgentsResponse.newBuilder();
          for (FleetQueries.AgentView v : queries.agents(req.getNodeId())) {
            b.addAgents(FleetProtos.agent(v));
          }
          return b.setTotal(b.getAgentsCount()).build();
        });
  }

  @Override
  public void getAgent(GetAgentRequest req, StreamObserver<Agent> out) {
    ErrorMapper.reply(
        out, () -> FleetProtos.agent(queries.agent(req.getNodeId(), req.getAgentId())));
  }

  @Override
  public void listFleetAgents(
      io.opsscaffold.api.fleet.v1.ListFleetAgentsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          FleetQueries.AgentPage page =
              queries.listFleetAgents(
                  new FleetRepository.AgentFilter(
                      req.getNodeId(),
                      "",
                      req.getArea(),
                      req.getZone(),
                      req.getHostname(),
                      req.getAddress(),
                      req.getType(),
                      req.getVersion()),
                  req.getStatus(),
                  req.getLabel(),
                  req.getPage(),
                  req.getPageSize());
          var b =
              io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse.newBuilder()
                  .setTotal((int) page.total())
                  .setPage(page.page())
                  .setPageSize(page.pageSize());
          page.agents().forEach(v -> b.addAgents(FleetProtos.agent(v)));
          return b.build();
        });
  }

  @Override
  public void getFleetAgent(
      io.opsscaffold.api.fleet.v1.GetFleetAgentRequest req, StreamObserver<Agent> out) {
    ErrorMapper.reply(out, () -> FleetProtos.agent(queries.fleetAgent(req.getAgentId())));
  }

  @Override
  public void getAvailabilitySummary(
      io.opsscaffold.api.fleet.v1.GetAvailabilitySummaryRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.AvailabilitySummary> out) {
    ErrorMapper.reply(
        out,
        () -> {
          FleetQueries.Summary s =
              queries.summary(
                  req.getHostsList().stream().map(h -> h.getIp()).toList(),
                  req.getHostsList().stream().map(h -> h.getCloudId()).toList());
          var b =
              io.opsscaffold.api.fleet.v1.AvailabilitySummary.newBuilder()
                  .setOverall(FleetProtos.counts("", s.overall()));
          s.byArea().forEach((k, v) -> b.addByArea(FleetProtos.counts(k, v)));
          s.byBusiness().forEach((k, v) -> b.addByBusiness(FleetProtos.counts(k, v)));
          return b.build();
        });
  }

  @Override
  public void watchAgents(
      io.opsscaffold.api.fleet.v1.WatchAgentsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.AgentEvent> out) {
    try {
      agentWatch.watch(
          req,
          queries.areasFor(req.getArea()),
          (io.grpc.stub.ServerCallStreamObserver<io.opsscaffold.api.fleet.v1.AgentEvent>) out);
    } catch (RuntimeException e) {
      out.onError(ErrorMapper.toException(e));
    }
  }
}
