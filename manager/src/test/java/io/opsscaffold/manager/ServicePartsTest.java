package io.opsscaffold.manager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ServerServiceDefinition;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.manager.alerts.AlertsGrpcService;
import io.opsscaffold.manager.fleet.FleetGrpcService;
import io.opsscaffold.manager.operations.OperationsGrpcService;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServicePartsTest {
  private static ServerServiceDefinition compose(List<FleetServiceGrpc.AsyncService> parts) {
    return ServiceParts.compose(
        FleetServiceGrpc.getServiceDescriptor(),
        FleetServiceGrpc.AsyncService.class,
        FleetServiceGrpc::bindService,
        parts);
  }

  @Test
  void theManagersAdaptersServeEveryRpcOfTheFleetServiceExactlyOnce() {
    ServerServiceDefinition d =
        compose(
            List.of(
                new FleetGrpcService(null, null),
                new OperationsGrpcService(null, null, null, null),
                new AlertsGrpcService(null, null, null)));
    assertEquals(
        FleetServiceGrpc.getServiceDescriptor().getMethods().size(), d.getMethods().size());
  }

  @Test
  void anRpcNobodyImplementsIsNamed() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                compose(
                    List.of(
                        new FleetGrpcService(null, null),
                        new AlertsGrpcService(null, null, null))));
    assertTrue(
        e.getMessage().contains("OperateAgent is implemented by no adapter"), e.getMessage());
  }

  @Test
  void anRpcTwoAdaptersImplementIsNamed() {
    FleetServiceGrpc.AsyncService second =
        new FleetServiceGrpc.AsyncService() {
          @Override
          public void getNode(GetNodeRequest request, StreamObserver<Node> out) {}
        };
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                compose(
                    List.of(
                        new FleetGrpcService(null, null),
                        new OperationsGrpcService(null, null, null, null),
                        new AlertsGrpcService(null, null, null),
                        second)));
    assertTrue(
        e.getMessage()
            .startsWith(
                "opsscaffold.fleet.v1.FleetService: GetNode is implemented by [FleetGrpcService, "),
        e.getMessage());
  }
}
