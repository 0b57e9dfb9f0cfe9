package io.opsscaffold.manager.link;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.TcpProxy;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A daemon killed outright: its connection closes with no HTTP/2 goodbye (a proxy the test cuts
 * plays the dead process's kernel). The manager must notice from the connection, not wait for three
 * silent ping intervals, which here are half an hour.
 */
class KilledDaemonTest {
  private Telemetry telemetry;
  private ManagerApp manager;
  private ManagedChannel api;
  private TcpProxy proxy;
  private ManagedChannel daemonChannel;

  @BeforeEach
  void start() throws Exception {
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                TestDatabases.h2(),
                Duration.ofMinutes(10),
                Duration.ofMillis(500),
                Duration.ofSeconds(5),
                Optional.empty()),
            telemetry);
    api = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    proxy = new TcpProxy("127.0.0.1", manager.port());
    daemonChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    daemonChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    api.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    proxy.close();
    manager.close();
    telemetry.close();
  }

  private Connectivity connectivity(String node) {
    return FleetServiceGrpc.newBlockingStub(api)
        .getNode(GetNodeRequest.newBuilder().setNodeId(node).build())
        .getConnectivity();
  }

  @Test
  void aDaemonWhoseConnectionDiesIsNoticedFromTheConnectionAndGoesOfflineAfterTheGrace()
      throws Exception {
    new FakeDaemon(daemonChannel, "killed-1").hello();
    Await.until(
        Duration.ofSeconds(5),
        "the node ONLINE",
        () -> connectivity("killed-1"),
        Connectivity.CONNECTIVITY_ONLINE::equals);
    proxy.cut(); // the daemon's process is gone, and its kernel closed the connection
    long killedAt = System.nanoTime();
    Await.until(
        Duration.ofSeconds(10),
        "the node OFFLINE one 500 ms grace after its connection died (silence alone would take 30 min)",
        () -> connectivity("killed-1"),
        Connectivity.CONNECTIVITY_OFFLINE::equals);
    System.out.printf(
        "drill daemon-connection-dies: OFFLINE %d ms after the connection closed (grace 500 ms)%n",
        (System.nanoTime() - killedAt) / 1_000_000);
  }
}
