package io.opsscaffold.manager;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opsscaffold.manager.alerts.AlertEngine;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.link.SessionRegistry;
import io.opsscaffold.manager.operations.OperationRecord;
import io.opsscaffold.manager.operations.OperationRepository;
import java.util.List;
import java.util.Optional;

/**
 * The manager's gauges and the metered operations log (the table is observability/METRICS.md).
 * Gauges are read when the exporter collects, from what the components already keep, so they cost
 * nothing on the state path.
 */
final class ManagerMetrics {
  static final AttributeKey<String> AREA = AttributeKey.stringKey("ops.area");
  static final AttributeKey<String> AVAILABILITY = AttributeKey.stringKey("ops.availability");
  static final AttributeKey<String> KIND = AttributeKey.stringKey("ops.alert.kind");
  static final AttributeKey<String> OPERATION = AttributeKey.stringKey("ops.operation");
  static final AttributeKey<String> RESULT = AttributeKey.stringKey("ops.result");
  static final AttributeKey<String> CONNECTIVITY = AttributeKey.stringKey("ops.connectivity");

  private ManagerMetrics() {}

  static void register(
      Meter meter, SessionRegistry sessions, AlertEngine alerts, FleetRepository fleet) {
    meter
        .upDownCounterBuilder("ops.manager.daemons.connected")
        .setUnit("{daemon}")
        .setDescription("Daemons with an open link stream")
        .buildWithCallback(m -> m.record(sessions.size()));
    meter
        .counterBuilder("ops.manager.link.sessions")
        .setUnit("{session}")
        .setDescription("Link streams opened (connects and reconnects)")
        .buildWithCallback(m -> m.record(sessions.opened()));
    meter
        .gaugeBuilder("ops.manager.nodes")
        .ofLongs()
        .setUnit("{node}")
        .setDescription("Known nodes by connectivity")
        .buildWithCallback(
            m -> {
              for (String c :
                  java.util.Arrays.stream(NodeConnectivity.values()).map(Enum::name).toList()) {
                m.record(fleet.listNodes("", c, 0, 1).total(), Attributes.of(CONNECTIVITY, c));
              }
            });
    meter
        .gaugeBuilder("ops.manager.agents")
        .ofLongs()
        .setUnit("{agent}")
        .setDescription("Agents by availability and area, as of the latest alert scan")
        .buildWithCallback(
            m ->
                alerts
                    .availabilityCounts()
                    .forEach(
                        (k, v) ->
                            m.record(v, Attributes.of(AREA, k.get(0), AVAILABILITY, k.get(1)))));
    meter
        .gaugeBuilder("ops.manager.alerts.open")
        .ofLongs()
        .setUnit("{alert}")
        .setDescription("Open alerts by kind")
        .buildWithCallback(
            m -> {
              var open = alerts.openByKind();
              for (String kind : List.of("OFF", "NOT_EXIST", "NO_DATA", "UNKNOWN", "CRASH_LOOP")) {
                m.record(open.getOrDefault(kind, 0L), Attributes.of(KIND, kind));
              }
            });
  }

  /** The operations log, counting each finished operation by kind and result and timing it. */
  static OperationRepository metered(OperationRepository log, Meter meter) {
    LongCounter finished =
        meter
            .counterBuilder("ops.manager.operations")
            .setUnit("{operation}")
            .setDescription("Finished operations by kind and result")
            .build();
    DoubleHistogram seconds =
        meter
            .histogramBuilder("ops.manager.operation.duration")
            .setUnit("s")
            .setDescription("Time from request to result, by kind")
            .setExplicitBucketBoundariesAdvice(
                List.of(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
            .build();
    return new OperationRepository() {
      @Override
      public void save(OperationRecord r) {
        log.save(r);
        if (r.finishedMs() > 0) {
          finished.add(1, Attributes.of(OPERATION, r.kind(), RESULT, r.result()));
          seconds.record(
              (r.finishedMs() - r.requestedMs()) / 1000.0, Attributes.of(OPERATION, r.kind()));
        }
      }

      @Override
      public Optional<OperationRecord> find(String operationId) {
        return log.find(operationId);
      }

      @Override
      public List<OperationRecord> list(String kind, int offset, int limit) {
        return log.list(kind, offset, limit);
      }

      @Override
      public long count(String kind) {
        return log.count(kind);
      }
    };
  }
}
