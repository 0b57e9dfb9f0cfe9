package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's promise about environment overrides, on the packaged apps: {@code SERVER_PORT} sets
 * {@code server.port} and a double underscore stands for a dash ({@code LINK_OFFLINE__GRACE} sets
 * {@code link.offline-grace}), the same for the manager, the daemon and the agent.
 */
class ConfigOverridesIT {
  @TempDir Path dir;

  private record Run(int exit, String output) {}

  private Run run(String app, List<String> args, Map<String, String> env) throws Exception {
    List<String> command =
        new ArrayList<>(List.of(AppProcess.javaBinary(), "-jar", Stack.jar(app).toString()));
    command.addAll(args);
    Path out = dir.resolve(app + "-" + System.nanoTime() + ".out");
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(out.toFile());
    pb.environment().putAll(Stack.env(env));
    Process p = pb.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), app + " should stop by itself on a bad value");
    return new Run(p.exitValue(), Files.readString(out));
  }

  @Test
  void aDashedKeyIsOverriddenWithADoubleUnderscoreInEveryApp() throws Exception {
    Run manager =
        run("manager", List.of(), Map.of("LINK_OFFLINE__GRACE", "soon", "SERVER_PORT", "0"));
    assertEquals(2, manager.exit(), manager.output());
    assertTrue(manager.output().contains("link.offline-grace"), manager.output());

    Path daemonYaml =
        Files.writeString(dir.resolve("daemon.yaml"), "node:\n  id: n1\nagents: []\n");
    Run daemon =
        run(
            "daemon",
            List.of("--config", daemonYaml.toString()),
            Map.of("MANAGER_PING__INTERVAL", "often"));
    assertEquals(2, daemon.exit(), daemon.output());
    assertTrue(daemon.output().contains("manager.ping-interval"), daemon.output());

    Path agentYaml = Files.writeString(dir.resolve("agent.yaml"), "agent_id: a1\n");
    Run agent =
        run(
            "agent",
            List.of("--config", agentYaml.toString()),
            Map.of("HEARTBEAT_INTERVAL", "often"));
    assertEquals(2, agent.exit(), agent.output());
    assertTrue(agent.output().contains("heartbeat_interval"), agent.output());
  }

  @Test
  void theManagerTakesItsDataDirectoryAndPortFromTheEnvironment() throws Exception {
    Path data = dir.resolve("from-env");
    int port = Stack.freePort();
    Path out = dir.resolve("manager.out");
    ProcessBuilder pb =
        new ProcessBuilder(AppProcess.javaBinary(), "-jar", Stack.jar("manager").toString())
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(out.toFile());
    pb.environment()
        .putAll(
            Stack.env(
                Map.of(
                    "DATA__DIR",
                    data.toString(),
                    "SERVER_PORT",
                    Integer.toString(port),
                    "SERVER_HOST",
                    "127.0.0.1")));
    Process p = pb.start();
    try {
      // TLS is on by default: the manager made its CA under DATA__DIR, and a client trusts it.
      Path caFile = data.resolve("tls").resolve("ca.crt");
      Await.until(
          Duration.ofSeconds(60),
          "the manager's CA in " + caFile,
          () -> Files.exists(caFile),
          e -> e);
      HttpClient http =
          HttpClient.newBuilder()
              .sslContext(
                  io.opsscaffold.security.TlsContexts.create(
                      java.util.Optional.empty(),
                      io.opsscaffold.security.Pem.certificates(Files.readString(caFile))))
              .build();
      Await.until(
          Duration.ofSeconds(60),
          "the manager on port " + port + " from SERVER_PORT",
          () -> {
            try {
              return http.send(
                      HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/health"))
                          .build(),
                      HttpResponse.BodyHandlers.discarding())
                  .statusCode();
            } catch (IOException | InterruptedException e) {
              throw new IllegalStateException(e);
            }
          },
          code -> code == 200);
      try (Stream<Path> files = Files.list(data)) {
        assertTrue(files.findAny().isPresent(), "the embedded database lives in DATA__DIR " + data);
      }
      assertTrue(
          Files.notExists(dir.resolve("data")), "nothing was written to the default data/manager");
    } finally {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
    }
  }
}
