package io.opsscaffold.manager.api;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A manager on a fresh PostgreSQL database with a gRPC channel to it, for the API tests: ping
 * interval 5 s, offline grace 300 ms (a stopped fake daemon is OFFLINE quickly), operations time
 * out after 5 s.
 */
final class TestManager implements AutoCloseable {
  final TestDatabases.Created pg;
  final Telemetry telemetry;
  final ManagerApp app;
  final ManagedChannel channel;

  private TestManager() throws Exception {
    pg = TestDatabases.postgres();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    app =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                pg.settings(Files.createTempDirectory("m")),
                Duration.ofSeconds(5),
                Duration.ofMillis(300),
                Duration.ofSeconds(5),
                Optional.empty()),
            telemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", app.port()).usePlaintext().build();
  }

  static TestManager start() throws Exception {
    return new TestManager();
  }

  int port() {
    return app.port();
  }

  @Override
  public void close() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    app.close();
    telemetry.close();
    pg.close();
  }
}
