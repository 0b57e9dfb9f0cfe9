package io.opsscaffold.daemon;

import io.opsscaffold.api.daemon.v1.ReloadConfigResponse;
import io.opsscaffold.observability.JsonLogging;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import io.opsscaffold.transcoding.SharedMappers;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Starts the daemon: {@code java -jar daemon.jar --config daemon.yaml}. Reads the configuration,
 * builds the {@link DaemonApp}, and wires the process signals: SIGHUP reloads the configuration,
 * SIGTERM and Ctrl-C stop the daemon (and its agents, unless {@code stop-agents-on-exit: false}).
 * Exits 2 on bad config.
 */
public final class DaemonMain {
  private DaemonMain() {}

  public static void main(String[] args) throws InterruptedException {
    JsonLogging.install("daemon", Level.INFO);
    SharedMappers.install();
    Optional<Path> file = configFile(args);
    DaemonSettings settings;
    try {
      settings = DaemonSettings.read(Settings.load(file, file.isPresent()));
    } catch (SettingsException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Telemetry telemetry =
        Telemetry.start(
            new TelemetryPolicy("ops-daemon", settings.otlpEndpoint(), Optional.empty()));
    DaemonApp app;
    try {
      app =
          DaemonApp.start(
              settings,
              () -> DaemonSettings.read(Settings.load(file, true)),
              telemetry,
              DaemonApp.Wiring.production());
    } catch (UncheckedIOException e) {
      System.err.println(e.getMessage());
      System.exit(1);
      return;
    }
    Logger log = Logger.getLogger(DaemonMain.class.getName());
    // SIGHUP reloads the configuration, as with most daemons (the JVM would otherwise exit on it).
    sun.misc.Signal.handle(
        new sun.misc.Signal("HUP"),
        sig ->
            Thread.ofVirtual()
                .start(
                    () -> {
                      try {
                        ReloadConfigResponse r = app.reload();
                        log.info(() -> "SIGHUP: reloaded " + r.toString().replace('\n', ' '));
                      } catch (RuntimeException e) {
                        log.warning(() -> "SIGHUP: reload refused: " + e.getMessage());
                      }
                    }));
    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM and Ctrl-C run this hook; after a clean stop the process ends with status 0.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  app.close();
                  telemetry.close();
                  stopped.countDown();
                  Runtime.getRuntime().halt(0);
                },
                "daemon-shutdown"));
    System.out.println(
        "ops-daemon "
            + settings.nodeId()
            + " ready: heartbeats on http://"
            + settings.host()
            + ":"
            + app.port()
            + "/heartbeat"
            + app.socketPath().map(s -> " and unix:" + s).orElse("")
            + ", manager "
            + settings.link().address()
            + ", "
            + settings.agents().size()
            + " agent(s)");
    stopped.await();
  }

  static Optional<Path> configFile(String[] args) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--config")) {
        return Optional.of(Path.of(args[i + 1]));
      }
    }
    String env = System.getenv("OPS_DAEMON_CONFIG");
    return env == null || env.isBlank()
        ? Optional.of(Path.of("daemon.yaml"))
        : Optional.of(Path.of(env));
  }
}
