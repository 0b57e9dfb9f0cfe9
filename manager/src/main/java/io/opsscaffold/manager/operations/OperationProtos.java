package io.opsscaffold.manager.operations;

import io.opsscaffold.manager.fleet.FleetProtos;

/** Operation records to fleet API messages. Stateless. */
final class OperationProtos {
  private OperationProtos() {}

  static io.opsscaffold.api.fleet.v1.Operation operation(OperationRecord o) {
    io.opsscaffold.api.fleet.v1.Operation.Builder b =
        io.opsscaffold.api.fleet.v1.Operation.newBuilder()
            .setOperationId(o.operationId())
            .setKind(o.kind())
            .setRequestedBy(o.requestedBy())
            .setRequestedAt(FleetProtos.timestamp(o.requestedMs()))
            .setResult(o.result())
            .setTotal(o.results().size())
            .setSuccess(o.success())
            .setFailed(o.failed())
            .addAllResults(o.results())
            .setTraceId(o.traceId());
    if (o.finishedMs() > 0) {
      b.setFinishedAt(FleetProtos.timestamp(o.finishedMs()));
    }
    return b.build();
  }
}
