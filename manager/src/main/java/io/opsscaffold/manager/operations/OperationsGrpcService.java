package io.opsscaffold.manager.operations;

import com.google.protobuf.util.Durations;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.OperateAgentRequest;
import io.opsscaffold.api.fleet.v1.OperateAgentResponse;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.manager.fleet.Availability;
import io.opsscaffold.manager.fleet.FleetProtos;
import io.opsscaffold.manager.fleet.FleetQueries;
import io.opsscaffold.manager.link.LinkProtos;
import java.time.Clock;
import java.time.Duration;

/**
 * gRPC adapter of operations (also served over HTTP/JSON by the transcoder): one agent's start,
 * stop and restart, batches and config pushes, the operations log, and reading or following an
 * agent's logs and metrics through its daemon. Implements its part of {@code FleetService}.
 * Translates and delegates; every failure reaches the caller through {@link ErrorMapper}.
 */
public final class OperationsGrpcService implements FleetServiceGrpc.AsyncService {
  /** Lines a follower may have waiting before it counts as too slow. */
  static final int FOLLOW_QUEUE = 10_000;

  private final OperationService operations;
  private final BatchOperations batches;
  private final OperationRepository log;
  private final Clock clock;

  public OperationsGrpcService(
      OperationService operations, BatchOperations batches, OperationRepository log, Clock clock) {
    this.operations = operations;
    this.batches = batches;
    this.log = log;
    this.clock = clock;
  }

  @Override
  public void operateAgent(OperateAgentRequest req, StreamObserver<OperateAgentResponse> out) {
    Duration timeout =
        req.hasTimeout() ? Duration.ofMillis(Durations.toMillis(req.getTimeout())) : Duration.ZERO;
    ErrorMapper.replyLater(
        out,
        () ->
            operations
                .operate(req.getNodeId(), req.getAgentId(), req.getOperation(), timeout)
                .thenApply(
                    outcome -> {
                      var record =
                          LinkProtos.agent(
                              outcome.node().nodeId(), outcome.agent(), clock.millis());
                      var view =
                          new FleetQueries.AgentView(
                              outcome.node(),
                              record,
                              Availability.of(outcome.node(), record, clock.millis()));
                      return OperateAgentResponse.newBuilder()
                          .setCommandId(outcome.commandId())
                          .setSuccess(true)
                          .setMessage(outcome.message())
                          .setAgent(FleetProtos.agent(view))
                          .setDuration(Durations.fromMillis(outcome.duration().toMillis()))
                          .build();
                    }));
  }

  @Override
  public void batchOperateAgents(
      io.opsscaffold.api.fleet.v1.BatchOperateRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.BatchOperateResponse> out) {
    ErrorMapper.replyLater(out, () -> batches.run(req, item -> {}));
  }

  @Override
  public void streamBatchOperateAgents(
      io.opsscaffold.api.fleet.v1.BatchOperateRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.BatchProgress> out) {
    Object lock = new Object();
    try {
      batches
          .run(
              req,
              item -> {
                synchronized (lock) {
                  out.onNext(
                      io.opsscaffold.api.fleet.v1.BatchProgress.newBuilder().setItem(item).build());
                }
              })
          .whenComplete(
              (r, e) -> {
                synchronized (lock) {
                  if (e != null) {
                    out.onError(ErrorMapper.toException(e));
                  } else {
                    out.onNext(
                        io.opsscaffold.api.fleet.v1.BatchProgress.newBuilder()
                            .setSummary(r)
                            .build());
                    out.onCompleted();
                  }
                }
              });
    } catch (RuntimeException e) {
      out.onError(ErrorMapper.toException(e));
    }
  }

  @Override
  public void batchPushConfigs(
      io.opsscaffold.api.fleet.v1.BatchPushConfigsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.BatchOperateResponse> out) {
    ErrorMapper.replyLater(out, () -> batches.pushConfigs(req, item -> {}));
  }

  @Override
  public void listOperations(
      io.opsscaffold.api.fleet.v1.ListOperationsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.ListOperationsResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          int[] paging = FleetQueries.paging(req.getPage(), req.getPageSize());
          var b =
              io.opsscaffold.api.fleet.v1.ListOperationsResponse.newBuilder()
                  .setTotal((int) log.count(req.getKind()))
                  .setPage(paging[0])
                  .setPageSize(paging[1]);
          log.list(req.getKind(), (paging[0] - 1) * paging[1], paging[1])
              .forEach(o -> b.addOperations(OperationProtos.operation(o)));
          return b.build();
        });
  }

  @Override
  public void getOperation(
      io.opsscaffold.api.fleet.v1.GetOperationRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.Operation> out) {
    ErrorMapper.reply(
        out,
        () ->
            OperationProtos.operation(
                log.find(req.getOperationId())
                    .orElseThrow(
                        () ->
                            io.opsscaffold.errors.OpsException.notFound(
                                "operation '" + req.getOperationId() + "' is not in the log"))));
  }

  @Override
  public void getAgentLogs(
      io.opsscaffold.api.fleet.v1.GetAgentLogsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.GetAgentLogsResponse> out) {
    ErrorMapper.replyLater(
        out,
        () ->
            operations
                .readLogs(req.getNodeId(), req.getAgentId(), req.getLines())
                .thenApply(
                    lines ->
                        io.opsscaffold.api.fleet.v1.GetAgentLogsResponse.newBuilder()
                            .addAllLines(lines)
                            .build()));
  }

  @Override
  public void getAgentConfig(
      io.opsscaffold.api.fleet.v1.GetAgentConfigRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.GetAgentConfigResponse> out) {
    ErrorMapper.replyLater(
        out,
        () ->
            operations
                .readConfig(req.getNodeId(), req.getAgentId())
                .thenApply(
                    r -> {
                      var b =
                          io.opsscaffold.api.fleet.v1.GetAgentConfigResponse.newBuilder()
                              .setConfigHash(r.getConfigHash());
                      r.getConfigFilesList()
                          .forEach(
                              f ->
                                  b.addFiles(
                                      io.opsscaffold.api.fleet.v1.ConfigFile.newBuilder()
                                          .setFileName(f.getName())
                                          .setContent(f.getContent())));
                      return b.build();
                    }));
  }

  @Override
  public void getAgentMetrics(
      io.opsscaffold.api.fleet.v1.GetAgentMetricsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.GetAgentMetricsResponse> out) {
    Duration window =
        req.hasDuration()
            ? Duration.ofMillis(Durations.toMillis(req.getDuration()))
            : Duration.ZERO;
    ErrorMapper.replyLater(
        out,
        () ->
            operations
                .readMetrics(req.getNodeId(), req.getAgentId(), window)
                .thenApply(
                    s ->
                        io.opsscaffold.api.fleet.v1.GetAgentMetricsResponse.newBuilder()
                            .addAllSamples(s)
                            .build()));
  }

  @Override
  public void followAgentLogs(
      io.opsscaffold.api.fleet.v1.FollowAgentLogsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent> out) {
    var call =
        (io.grpc.stub.ServerCallStreamObserver<io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent>)
            out;
    java.util.concurrent.atomic.AtomicReference<Runnable> cancel =
        new java.util.concurrent.atomic.AtomicReference<>();
    var stream =
        new io.opsscaffold.manager.streams.BoundedStream<>(
            call,
            FOLLOW_QUEUE,
            "log lines",
            s -> {
              Runnable c = cancel.getAndSet(() -> {});
              if (c != null) {
                c.run();
              }
            });
    try {
      Runnable handle =
          operations.followLogs(
              req.getNodeId(),
              req.getAgentId(),
              req.getLines(),
              new CommandRouter.Follow() {
                private boolean started;

                @Override
                public void lines(java.util.List<String> lines) {
                  if (!started) {
                    started = true;
                    stream.offer(
                        io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent.newBuilder()
                            .setFollowing(true)
                            .build());
                  }
                  lines.forEach(
                      l ->
                          stream.offer(
                              io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent.newBuilder()
                                  .setLine(l)
                                  .build()));
                }

                @Override
                public void ended(io.grpc.Status status) {
                  cancel.set(() -> {});
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
      cancel.set(() -> {});
      stream.close(ErrorMapper.toStatus(e));
    }
  }
}
