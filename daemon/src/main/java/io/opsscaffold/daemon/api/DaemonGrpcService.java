package io.opsscaffold.daemon.api;

import com.google.protobuf.util.Durations;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.context.Context;
import io.opsscaffold.api.AgentOperations;
import io.opsscaffold.api.daemon.v1.AgentMetrics;
import io.opsscaffold.api.daemon.v1.DaemonServiceGrpc;
import io.opsscaffold.api.daemon.v1.FollowLogsRequest;
import io.opsscaffold.api.daemon.v1.GetAgentMetricsRequest;
import io.opsscaffold.api.daemon.v1.GetHostMetricsRequest;
import io.opsscaffold.api.daemon.v1.GetLocalAgentRequest;
import io.opsscaffold.api.daemon.v1.HostMetrics;
import io.opsscaffold.api.daemon.v1.ListLocalAgentsRequest;
import io.opsscaffold.api.daemon.v1.ListLocalAgentsResponse;
import io.opsscaffold.api.daemon.v1.LocalAgent;
import io.opsscaffold.api.daemon.v1.LogLine;
import io.opsscaffold.api.daemon.v1.OperateLocalAgentRequest;
import io.opsscaffold.api.daemon.v1.OperateLocalAgentResponse;
import io.opsscaffold.api.daemon.v1.ReloadConfigRequest;
import io.opsscaffold.api.daemon.v1.ReloadConfigResponse;
import io.opsscaffold.api.daemon.v1.TailLogsRequest;
import io.opsscaffold.api.daemon.v1.TailLogsResponse;
import io.opsscaffold.daemon.link.LinkProtos;
import io.opsscaffold.daemon.logs.LogFollower;
import io.opsscaffold.daemon.monitor.HealthMonitor;
import io.opsscaffold.daemon.monitor.HostSample;
import io.opsscaffold.daemon.queries.LocalQueries;
import io.opsscaffold.daemon.supervision.AgentRunner;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * The daemon's local API (gRPC, and HTTP/JSON through the transcoder). Translates and delegates to
 * the supervisor, the health monitor's histories and the log files; every failure goes through
 * {@link ErrorMapper}. The manager's commands for logs and metrics are meant to be served by the
 * same code.
 */
public final class DaemonGrpcService extends DaemonServiceGrpc.DaemonServiceImplBase {
  /** Most lines a tail may ask for. */
  public static final int MAX_LINES = 1000;

  private final Supervisor agents;
  private final HealthMonitor monitor;
  private final LocalQueries queries;
  private final Supplier<ReloadConfigResponse> reload;
  private final Clock clock;

  /**
   * @param queries the reads this API shares with the manager's commands on the link
   * @param reload re-reads daemon.yaml and applies it
   */
  public DaemonGrpcService(
      Supervisor agents,
      HealthMonitor monitor,
      LocalQueries queries,
      Supplier<ReloadConfigResponse> reload,
      Time time) {
    this.agents = agents;
    this.monitor = monitor;
    this.queries = queries;
    this.reload = reload;
    this.clock = time.clock();
  }

  @Override
  public void listAgents(ListLocalAgentsRequest req, StreamObserver<ListLocalAgentsResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          ListLocalAgentsResponse.Builder b = ListLocalAgentsResponse.newBuilder();
          for (AgentRunner r : agents.runners()) {
            b.addAgents(local(r));
          }
          return b.build();
        });
  }

  @Override
  public void getAgent(GetLocalAgentRequest req, StreamObserver<LocalAgent> out) {
    ErrorMapper.reply(out, () -> local(runner(req.getAgentId())));
  }

  @Override
  public void operateAgent(
      OperateLocalAgentRequest req, StreamObserver<OperateLocalAgentResponse> out) {
    ErrorMapper.replyLater(
        out,
        () -> {
          runner(req.getAgentId());
          return agents
              .operate(
                  req.getAgentId(), AgentOperations.parse(req.getOperation()), Context.current())
              .thenApply(
                  s ->
                      OperateLocalAgentResponse.newBuilder()
                          .setMessage(s.message())
                          .setState(LinkProtos.state(s))
                          .build());
        });
  }

  @Override
  public void getAgentMetrics(GetAgentMetricsRequest req, StreamObserver<AgentMetrics> out) {
    ErrorMapper.reply(
        out,
        () ->
            AgentMetrics.newBuilder()
                .setAgentId(req.getAgentId())
                .addAllSamples(
                    queries.metrics(
                        req.getAgentId(),
                        req.hasDuration()
                            ? Duration.ofMillis(Durations.toMillis(req.getDuration()))
                            : Duration.ZERO))
                .build());
  }

  @Override
  public void getHostMetrics(GetHostMetricsRequest req, StreamObserver<HostMetrics> out) {
    ErrorMapper.reply(
        out,
        () -> {
          Duration window = window(req.hasDuration(), req.getDuration());
          HostMetrics.Builder b = HostMetrics.newBuilder();
          for (HostSample h : monitor.hostHistory().since(clock.instant(), window)) {
            b.addSamples(HostProtos.host(h));
          }
          return b.build();
        });
  }

  @Override
  public void tailLogs(TailLogsRequest req, StreamObserver<TailLogsResponse> out) {
    ErrorMapper.reply(
        out,
        () ->
            TailLogsResponse.newBuilder()
                .setAgentId(req.getAgentId())
                .addAllLines(queries.tail(req.getAgentId(), req.getLines(), 100))
                .build());
  }

  @Override
  public void followLogs(FollowLogsRequest req, StreamObserver<LogLine> out) {
    try {
      runner(req.getAgentId());
      int n = lines(req.getLines(), 10);
      ServerCallStreamObserver<LogLine> call = (ServerCallStreamObserver<LogLine>) out;
      LogFollower follower =
          queries.follower(
              req.getAgentId(), n, line -> out.onNext(LogLine.newBuilder().setText(line).build()));
      call.setOnCancelHandler(follower::close);
      Thread.ofVirtual()
          .name("follow-" + req.getAgentId())
          .start(
              () -> {
                try {
                  follower.run();
                } catch (RuntimeException e) {
                  // the client went away while a line was being sent
                } finally {
                  if (!call.isCancelled()) {
                    try {
                      out.onCompleted();
                    } catch (RuntimeException ignored) {
                      // already closed
                    }
                  }
                }
              });
    } catch (RuntimeException e) {
      out.onError(ErrorMapper.toException(e));
    }
  }

  @Override
  public void reloadConfig(ReloadConfigRequest req, StreamObserver<ReloadConfigResponse> out) {
    ErrorMapper.reply(out, reload);
  }

  private AgentRunner runner(String agentId) {
    if (agentId.isBlank()) {
      throw OpsException.invalidArgument("agent_id is required");
    }
    return agents
        .runner(agentId)
        .orElseThrow(
            () ->
                OpsException.notFound("agent '" + agentId + "' is not supervised by this daemon"));
  }

  private LocalAgent local(AgentRunner r) {
    LocalAgent.Builder b = LocalAgent.newBuilder().setState(LinkProtos.state(r.snapshot()));
    if (r.runningPid() > 0) {
      monitor.history(r.spec().id()).latest().ifPresent(s -> b.setLatest(LocalQueries.sample(s)));
    }
    return b.build();
  }

  private static Duration window(boolean set, com.google.protobuf.Duration d) {
    if (!set) {
      return Duration.ofMinutes(5);
    }
    Duration window = Duration.ofMillis(Durations.toMillis(d));
    if (window.isNegative() || window.isZero() || window.compareTo(Duration.ofHours(24)) > 0) {
      throw OpsException.invalidArgument(
          "duration must be between 1s and 24h (got " + Durations.toString(d) + ")");
    }
    return window;
  }

  private static int lines(int requested, int dflt) {
    if (requested < 0 || requested > MAX_LINES) {
      throw OpsException.invalidArgument(
          "lines must be between 1 and " + MAX_LINES + " (got " + requested + ")");
    }
    return requested == 0 ? dflt : requested;
  }
}
