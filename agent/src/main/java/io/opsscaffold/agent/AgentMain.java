package io.opsscaffold.agent;

import com.sun.net.httpserver.HttpServer;
import io.opsscaffold.observability.JsonLogging;
import io.opsscaffold.observability.JsonText;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The reference agent: {@code java -jar agent.jar --config agent.yaml}. Heartbeats to its daemon
 * every interval, serves {@code GET /health}, and on SIGTERM or SIGINT sends a last "stopping"
 * heartbeat and exits 0. Exits 2 on bad config.
 */
public final class AgentMain {

  private AgentMain() {}

  public static void main(String[] args) throws IOException {
    JsonLogging.install("agent", Level.INFO);
    Optional<Path> file = Optional.empty();
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--config")) {
        file = Optional.of(Path.of(args[i + 1]));
      }
    }
    AgentSettings settings;
    try {
      settings = AgentSettings.read(Settings.load(file, file.isPresent()));
    } catch (SettingsException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Instant started = Instant.now();
    HeartbeatSender sender = new HeartbeatSender(settings.agentId(), settings.daemonUrl());
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
        r -> Thread.ofPlatform().name("heartbeat").daemon(true).unstarted(r));
    ticker.scheduleAtFixedRate(
        () -> sender.send("running", Duration.ofSeconds(5)), 0,
        settings.heartbeatInterval().toMillis(), TimeUnit.MILLISECONDS);

    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", settings.httpPort()), 16);
    http.createContext("/health", exchange -> {
      Instant last = sender.last();
      String body = "{\"status\":\"healthy\",\"uptime\":" + Duration.between(started, Instant.now()).toSeconds()
          + ",\"last_heartbeat\":" + (last == null ? "null" : JsonText.quote(last.toString()))
          + ",\"agent_id\":" + JsonText.quote(settings.agentId()) + "}";
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    });
    http.start();

    // SIGTERM and SIGINT run shutdown hooks; this one leaves cleanly and ends the process with
    // status 0 (the JVM would otherwise report 143 for SIGTERM), so the daemon sees a clean exit.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      ticker.shutdownNow();
      boolean said = sender.send("stopping", Duration.ofSeconds(2));
      http.stop(0);
      Logger.getLogger(AgentMain.class.getName()).info(() -> "agent " + settings.agentId() + " stopped (final heartbeat " + (said ? "sent" : "not sent") + ")");
      Runtime.getRuntime().halt(0);
    }, "agent-shutdown"));
    Logger.getLogger(AgentMain.class.getName()).info(() -> "agent " + settings.agentId() + " (pid " + ProcessHandle.current().pid()
        + ") serving /health on port " + http.getAddress().getPort() + ", heartbeating to "
        + settings.daemonUrl() + " every " + settings.heartbeatInterval().toMillis() + " ms");
  }
}
