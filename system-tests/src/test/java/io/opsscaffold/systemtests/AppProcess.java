package io.opsscaffold.systemtests;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One of the project's apps running as a real process from its packaged jar. */
final class AppProcess implements AutoCloseable {
  private final String name;
  private final List<String> command;
  private final Map<String, String> env;
  private final Path log;
  private Process process;

  AppProcess(String name, Path jar, Path config, Map<String, String> env, Path logDir) {
    this(name, List.of("-Xmx128m", "-XX:TieredStopAtLevel=1"), jar, config, env, logDir);
  }

  AppProcess(
      String name,
      List<String> jvmOptions,
      Path jar,
      Path config,
      Map<String, String> env,
      Path logDir) {
    this.name = name;
    this.command = new ArrayList<>();
    command.add(javaBinary());
    command.addAll(jvmOptions);
    command.addAll(List.of("-jar", jar.toString(), "--config", config.toString()));
    this.env = env;
    this.log = logDir.resolve(name + ".log");
  }

  static String javaBinary() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  AppProcess start() {
    try {
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(env);
      process = pb.start();
      return this;
    } catch (IOException e) {
      throw new IllegalStateException("could not start " + name, e);
    }
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  /** SIGTERM, then waits up to 20 s for a clean exit; returns the exit code. */
  int stop() {
    if (process == null) {
      return -1;
    }
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  Path log() {
    return log;
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
    }
  }
}
