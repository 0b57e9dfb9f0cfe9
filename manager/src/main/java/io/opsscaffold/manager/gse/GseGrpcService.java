package io.opsscaffold.manager.gse;

import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.gse.v1.GseAgentInfoResponse;
import io.opsscaffold.api.gse.v1.GseAgentState;
import io.opsscaffold.api.gse.v1.GseAgentStatusResponse;
import io.opsscaffold.api.gse.v1.GseHost;
import io.opsscaffold.api.gse.v1.GseHostInfo;
import io.opsscaffold.api.gse.v1.GseHostStatus;
import io.opsscaffold.api.gse.v1.GseHostsRequest;
import io.opsscaffold.api.gse.v1.GseServiceGrpc;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.Availability;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.NodeRecord;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BlueKing GSE-compatible agent status, so existing checkers work unchanged. A host's "GSE agent"
 * is its daemon: ON (0) while connected, UNKNOWN (-1) offline, NOT_EXIST (2) unknown.
 */
public final class GseGrpcService extends GseServiceGrpc.GseServiceImplBase {
  /** Most hosts one call may ask for. */
  static final int MAX_HOSTS = 10_000;

  private final FleetRepository repository;
  private final Clock clock;

  public GseGrpcService(FleetRepository repository, Clock clock) {
    this.repository = repository;
    this.clock = clock;
  }

  @Override
  public void getAgentStatus(GseHostsRequest req, StreamObserver<GseAgentStatusResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          Map<String, NodeRecord> nodes = lookUp(req.getHostsList());
          GseAgentStatusResponse.Builder b =
              GseAgentStatusResponse.newBuilder().setResult(true).setCode(0).setMessage("");
          for (GseHost h : req.getHostsList()) {
            NodeRecord n = nodes.get(key(h.getBkCloudId(), h.getIp()));
            b.putData(
                key(h.getBkCloudId(), h.getIp()),
                GseHostStatus.newBuilder()
                    .setIp(h.getIp())
                    .setBkCloudId(h.getBkCloudId())
                    .setBkAgentAlive(alive(n))
                    .build());
          }
          return b.build();
        });
  }

  @Override
  public void getAgentInfo(GseHostsRequest req, StreamObserver<GseAgentInfoResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          Map<String, NodeRecord> nodes = lookUp(req.getHostsList());
          long now = clock.millis();
          GseAgentInfoResponse.Builder b =
              GseAgentInfoResponse.newBuilder().setResult(true).setCode(0).setMessage("");
          for (GseHost h : req.getHostsList()) {
            NodeRecord n = nodes.get(key(h.getBkCloudId(), h.getIp()));
            GseHostInfo.Builder info =
                GseHostInfo.newBuilder()
                    .setIp(h.getIp())
                    .setBkCloudId(h.getBkCloudId())
                    .setBkAgentAlive(alive(n));
            if (n != null) {
              info.setLastHeartbeat(
                      Instant.ofEpochMilli(n.online() ? now : n.lastSeenMs()).toString())
                  .setVersion(n.daemonVersion());
              for (AgentRecord a : repository.listAgents(n.nodeId())) {
                info.addAgents(
                    GseAgentState.newBuilder()
                        .setName(a.agentId())
                        .setStatus(a.lifecycle().name())
                        .setAvailability(Availability.of(n, a, now).code()));
              }
            }
            b.putData(key(h.getBkCloudId(), h.getIp()), info.build());
          }
          return b.build();
        });
  }

  private Map<String, NodeRecord> lookUp(List<GseHost> hosts) {
    if (hosts.size() > MAX_HOSTS) {
      throw OpsException.invalidArgument(
          "hosts may list at most " + MAX_HOSTS + " hosts (got " + hosts.size() + ")");
    }
    for (int i = 0; i < hosts.size(); i++) {
      if (hosts.get(i).getIp().isBlank()) {
        throw OpsException.invalidArgument("hosts[" + i + "].ip is required");
      }
    }
    Map<String, NodeRecord> found = new HashMap<>();
    for (NodeRecord n :
        repository.findNodesByAddress(
            hosts.stream().map(GseHost::getIp).toList(),
            hosts.stream().map(GseHost::getBkCloudId).toList())) {
      found.put(key((int) n.cloudId(), n.ip()), n);
    }
    return found;
  }

  /**
   * GSE's {@code bk_agent_alive}: 1 while the host's daemon is connected, 0 otherwise, also for a
   * host the manager does not know, as GSE documents it and its consumers (bk-nodeman, bklog) read
   * it. Our own availability codes stay in our API and in each agent's detail.
   */
  static int alive(NodeRecord n) {
    return n != null && n.online() ? 1 : 0;
  }

  private static String key(int cloudId, String ip) {
    return cloudId + ":" + ip;
  }
}
