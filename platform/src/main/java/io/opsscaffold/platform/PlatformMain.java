package io.opsscaffold.platform;

import io.opsscaffold.manager.identity.Role;
import io.opsscaffold.observability.JsonLogging;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import io.opsscaffold.transcoding.SharedMappers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;

/**
 * Starts the platform service: {@code java -jar platform.jar [--config platform.yaml]}, or adds an
 * API token to its tokens file: {@code java -jar platform.jar add-token <name>
 * <viewer|operator|admin> [--config platform.yaml]} (prints the token once). Exits 2 on bad config
 * or arguments.
 */
public final class PlatformMain {
  private PlatformMain() {}

  public static void main(String[] args) throws InterruptedException {
    JsonLogging.install("platform", Level.INFO);
    SharedMappers.install();
    Optional<Path> file = configFile(args);
    PlatformSettings settings;
    try {
      settings = PlatformSettings.read(Settings.load(file, file.isPresent()));
    } catch (SettingsException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    if (args.length > 0 && args[0].equals("add-token")) {
      addToken(args, settings);
      return;
    }
    Telemetry telemetry =
        Telemetry.start(
            new TelemetryPolicy("ops-platform", settings.otlpEndpoint(), Optional.empty()));
    PlatformApp app;
    try {
      app = PlatformApp.start(settings, telemetry);
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  app.close();
                  telemetry.close();
                  stopped.countDown();
                  Runtime.getRuntime().halt(0);
                },
                "platform-shutdown"));
    System.out.println(
        "ops-platform ready on port "
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

  private static void addToken(String[] args, PlatformSettings settings) {
    if (args.length < 3 || Role.parse(args[2]).isEmpty()) {
      System.err.println(
          "usage: platform.jar add-token <name> <viewer|operator|admin> [--config F]");
      System.exit(2);
      return;
    }
    Path tokens = settings.tokensFile().orElse(settings.dataDir().resolve("tokens"));
    try {
      String token = PlatformTokens.add(tokens, args[1], Role.parse(args[2]).orElseThrow());
      System.out.println(token);
      System.err.println(
          "added "
              + args[2]
              + " token '"
              + args[1]
              + "' to "
              + tokens
              + " (running platforms read it within a second); this is the only time it is shown");
    } catch (IOException e) {
      System.err.println("cannot write " + tokens + ": " + e.getMessage());
      System.exit(1);
    }
  }

  static Optional<Path> configFile(String[] args) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--config")) {
        return Optional.of(Path.of(args[i + 1]));
      }
    }
    String env = System.getenv("OPS_PLATFORM_CONFIG");
    return env == null || env.isBlank() ? Optional.empty() : Optional.of(Path.of(env));
  }
}
