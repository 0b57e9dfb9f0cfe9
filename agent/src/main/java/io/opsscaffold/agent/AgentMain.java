package io.opsscaffold.agent;

import io.opsscaffold.agent.api.AgentHttpApi;
import io.opsscaffold.agent.config.AgentSettings;
import io.opsscaffold.observability.JsonLogging;
import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The reference agent: {@code java -jar agent.jar --config agent.yaml}. Heartbeats to its daemon,
 * serves {@code /health}, {@code /reload} and {@code /metrics}, keeps its counters in a state file,
 * and on SIGTERM or SIGINT sends a last "stopping" heartbeat and exits 0. Exits 2 on bad config.
 */
public final class AgentMain {
  private AgentMain() {}

  public static void main(String[] args) throws IOException {
    JsonLogging.install("agent", Level.INFO);
    Logger log = Logger.getLogger(AgentMain.class.getName());
    Path file = Path.of("agent.yaml");
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--config")) {
        file = Path.of(args[i + 1]);
      }
    }
    AgentSettings settings;
    try {
      settings = AgentSettings.read(Settings.loadLean(Optional.of(file), true));
    } catch (SettingsException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    AgentRuntime.setLogLevel(settings.logLevel());
    JsonLogging.addField("agent_id", settings.agentId());
    if (settings.faults().failAtStart()) {
      log.severe(
          () ->
              "failing at start on purpose (faults.fail_at_start), exit code "
                  + settings.faults().crashExitCode());
      System.exit(settings.faults().crashExitCode());
    }
    AgentRuntime runtime = new AgentRuntime(file, settings);
    AgentHttpApi api = new AgentHttpApi(settings.httpHost(), settings.httpPort(), runtime);

    // SIGTERM and SIGINT run this hook. It stops cleanly and ends the process with status 0 (the
    // JVM would report 143). With faults.ignore_sigterm it never returns: only SIGKILL ends the
    // agent.
    // It is in place before the faults are applied and the first heartbeat is sent, so a stop that
    // follows them finds the agent ignoring it.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  if (runtime.faults().current().ignoreSigterm()) {
                    log.warning("ignoring the stop signal on purpose (faults.ignore_sigterm)");
                    while (true) {
                      try {
                        Thread.sleep(60_000);
                      } catch (InterruptedException e) {
                        // keep ignoring
                      }
                    }
                  }
                  boolean said = runtime.stop(Duration.ofSeconds(2));
                  api.close();
                  log.info(
                      () ->
                          "agent "
                              + settings.agentId()
                              + " stopped (final heartbeat "
                              + (said ? "sent" : "not sent")
                              + ")");
                  Runtime.getRuntime().halt(0);
                },
                "agent-shutdown"));
    runtime.start();
    log.info(
        () ->
            "agent "
                + settings.agentId()
                + " (pid "
                + ProcessHandle.current().pid()
                + ") serving on "
                + settings.httpHost()
                + ":"
                + api.port()
                + ", heartbeating to "
                + runtime.heartbeats().destination()
                + " every "
                + settings.heartbeatInterval().toMillis()
                + " ms");
    System.out.println("ops-agent " + settings.agentId() + " ready on port " + api.port());
  }
}
