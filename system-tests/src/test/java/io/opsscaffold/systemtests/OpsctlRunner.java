package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the packaged opsctl as a process, piped or on a pseudo-terminal (util-linux script). */
final class OpsctlRunner {
  /** What a run printed and how it ended. */
  record Run(int exit, String out, String err) {}

  private final Path config;

  /** Runs with {@code OPSCTL_CONFIG} at {@code config} unless a call's environment says else. */
  OpsctlRunner(Path config) {
    this.config = config;
  }

  /** The command line that runs the packaged opsctl with {@code args}. */
  static List<String> command(String... args) {
    List<String> command =
        new ArrayList<>(
            List.of(
                AppProcess.javaBinary(),
                "-XX:TieredStopAtLevel=1",
                "-jar",
                Stack.root().resolve("cli/target/opsctl.jar").toString()));
    command.addAll(List.of(args));
    return command;
  }

  /** Output and errors piped (no terminal), stdin closed. */
  Run run(Map<String, String> env, String... args) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command(args));
    Map<String, String> e = new HashMap<>(env);
    e.putIfAbsent("OPSCTL_CONFIG", config.toString());
    pb.environment().putAll(e);
    Process p = pb.start();
    p.getOutputStream().close();
    var out = p.getInputStream().readAllBytes();
    var err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "opsctl ended");
    return new Run(
        p.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  /**
   * On a pseudo-terminal, with {@code input} typed into it; everything the terminal showed comes
   * back as {@code out}.
   */
  Run onTerminal(String input, String... args) throws IOException, InterruptedException {
    String command =
        String.join(
            " ", command(args).stream().map(a -> "'" + a.replace("'", "'\\''") + "'").toList());
    ProcessBuilder pb = new ProcessBuilder("script", "-qec", command, "/dev/null");
    pb.environment().put("OPSCTL_CONFIG", config.toString());
    pb.redirectErrorStream(true);
    Process p = pb.start();
    p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().flush();
    String tty = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "opsctl ended");
    return new Run(p.exitValue(), tty, "");
  }
}
