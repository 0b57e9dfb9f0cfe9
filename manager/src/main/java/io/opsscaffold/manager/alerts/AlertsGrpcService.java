package io.opsscaffold.manager.alerts;

import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.manager.fleet.FleetQueries;

/**
 * gRPC adapter of alerts (also served over HTTP/JSON by the transcoder): the alert log and the
 * alert watch. Implements its part of {@code FleetService}. Translates and delegates; every failure
 * reaches the caller through {@link ErrorMapper}.
 */
public final class AlertsGrpcService implements FleetServiceGrpc.AsyncService {
  private final AlertRepository log;
  private final AlertEngine engine;
  private final FleetQueries scope;

  /**
   * @param scope whose {@link FleetQueries#areasFor} limits listings and watches to the caller's
   *     areas
   */
  public AlertsGrpcService(AlertRepository log, AlertEngine engine, FleetQueries scope) {
    this.log = log;
    this.engine = engine;
    this.scope = scope;
  }

  @Override
  public void listAlerts(
      io.opsscaffold.api.fleet.v1.ListAlertsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.ListAlertsResponse> out) {
    ErrorMapper.reply(
        out,
        () -> {
          String state = req.getState().toLowerCase(java.util.Locale.ROOT);
          if (!state.isEmpty() && !state.equals("open") && !state.equals("resolved")) {
            throw io.opsscaffold.errors.OpsException.invalidArgument(
                "state must be open or resolved (got '" + req.getState() + "')");
          }
          int[] paging = FleetQueries.paging(req.getPage(), req.getPageSize());
          java.util.List<String> areas = scope.areasFor(req.getArea());
          var b =
              io.opsscaffold.api.fleet.v1.ListAlertsResponse.newBuilder()
                  .setTotal((int) log.count(state, req.getKind(), areas, req.getNodeId()))
                  .setPage(paging[0])
                  .setPageSize(paging[1]);
          log.list(
                  state,
                  req.getKind(),
                  areas,
                  req.getNodeId(),
                  (paging[0] - 1) * paging[1],
                  paging[1])
              .forEach(a -> b.addAlerts(AlertProtos.alert(a)));
          return b.build();
        });
  }

  @Override
  public void watchAlerts(
      io.opsscaffold.api.fleet.v1.WatchAlertsRequest req,
      StreamObserver<io.opsscaffold.api.fleet.v1.AlertEvent> out) {
    java.util.List<String> areas;
    try {
      areas = scope.areasFor("");
    } catch (RuntimeException e) {
      out.onError(ErrorMapper.toException(e));
      return;
    }
    engine.watch(
        (io.grpc.stub.ServerCallStreamObserver<io.opsscaffold.api.fleet.v1.AlertEvent>) out, areas);
  }
}
