package io.opsscaffold.manager.alerts;

import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.fleet.v1.Alert;

/** Stored alerts to API messages. Stateless. */
public final class AlertProtos {
  private AlertProtos() {}

  public static Alert alert(AlertRecord a) {
    Alert.Builder b =
        Alert.newBuilder()
            .setAlertId(a.alertId())
            .setNodeId(a.nodeId())
            .setAgentId(a.agentId())
            .setArea(a.area())
            .setKind(a.kind())
            .setReason(a.reason())
            .setOpenedAt(Timestamps.fromMillis(a.openedMs()))
            .setLastAt(Timestamps.fromMillis(a.lastMs()))
            .setCount(a.count());
    if (!a.open()) {
      b.setResolvedAt(Timestamps.fromMillis(a.resolvedMs()));
    }
    return b.build();
  }
}
