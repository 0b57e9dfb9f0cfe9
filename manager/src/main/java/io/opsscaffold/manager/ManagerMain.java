package io.opsscaffold.manager;

import io.opsscaffold.observability.JsonLogging;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import io.opsscaffold.transcoding.SharedMappers;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;

/**
 * Starts the manager: {@code java -jar manager.jar [--config manager.yaml]}. Without a file every
 * key has its default (embedded database under ./data/manager, port 8080). Exits 2 on bad config.
 */
public final class ManagerMain {
  private ManagerMain() {}

  public static void main(String[] args) throws InterruptedException {
    JsonLogging.install("manager", Level.INFO);
    SharedMappers.install(); // before anything reads through Helidon's mappers
    Optional<Path> file = configFile(args);
    ManagerSettings settings;
    try {
      settings = ManagerSettings.read(Settings.load(file, file.isPresent()));
    } catch (SettingsException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Telemetry telemetry =
        Telemetry.start(
            new TelemetryPolicy("ops-manager", settings.otlpEndpoint(), Optional.empty()));
    ManagerApp app;
    try {
      app = ManagerApp.start(settings, telemetry);
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    // SIGTERM and Ctrl-C run this hook. After a clean stop the process ends with status 0 (the JVM
    // would report 143 for SIGTERM), so supervisors and scripts can tell a clean stop from a crash.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  app.close();
                  telemetry.close();
                  stopped.countDown();
                  Runtime.getRuntime().halt(0);
                },
                "manager-shutdown"));
    System.out.println(
        "ops-manager ready on port "
            + app.port()
            + app.caFingerprint()
                .map(
                    fp ->
                        " (TLS; CA fingerprint "
                            + fp
                            + ", certificate "
                            + settings.tls().dir().resolve("ca.crt")
                            + ")")
                .orElse(" (PLAINTEXT: tls.insecure)"));
    stopped.await();
  }

  static Optional<Path> configFile(String[] args) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--config")) {
        return Optional.of(Path.of(args[i + 1]));
      }
    }
    String env = System.getenv("OPS_MANAGER_CONFIG");
    return env == null || env.isBlank() ? Optional.empty() : Optional.of(Path.of(env));
  }
}
