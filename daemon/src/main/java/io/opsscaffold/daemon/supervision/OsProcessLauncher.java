package io.opsscaffold.daemon.supervision;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Logger;

/**
 * Launches agents as real child processes, each in its own session and process group ({@code
 * setsid}, which execs in place because a child of the JVM is never a group leader, so the pid Java
 * sees is the agent's and is its group id); with {@code user}, setsid execs {@code setpriv}, which
 * drops to that user and group and execs the agent, so the pid stays the agent's. Output and errors
 * go to {@code <logs>/<agent-id>.log}, appended by the kernel, so a slow reader never blocks the
 * agent.
 *
 * <p>Exit detection uses {@link Process#onExit()}: the JDK's reaper thread waits in {@code
 * waitpid}, so an exit is seen at once, with no polling.
 */
public final class OsProcessLauncher implements ProcessLauncher {
  private static final Logger LOG = Logger.getLogger(OsProcessLauncher.class.getName());
  private final io.opsscaffold.daemon.logs.AgentLogs logs;

  public OsProcessLauncher(io.opsscaffold.daemon.logs.AgentLogs logs) {
    this.logs = logs;
  }

  @Override
  public RunningProcess launch(AgentSpec spec) throws IOException {
    Files.createDirectories(logs.dir());
    // setsid execs the command itself, so a missing or non-executable binary would look like a
    // process that exited with 126/127; checking first reports it as what it is: no start at all.
    Path executable = resolve(spec.command(), spec.workingDir());
    List<String> command = new ArrayList<>();
    command.add("setsid");
    spec.runAs().ifPresent(user -> command.addAll(user.prefix()));
    command.add(executable.toString());
    command.addAll(spec.args());
    if (!Files.isDirectory(spec.workingDir())) {
      throw new IOException("working directory " + spec.workingDir() + " does not exist");
    }
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(spec.workingDir().toFile())
            .redirectErrorStream(true)
            .redirectOutput(Redirect.appendTo(logs.file(spec.id()).toFile()))
            .redirectInput(Redirect.from(new java.io.File("/dev/null")));
    pb.environment().putAll(spec.env());
    Process process = pb.start();
    return new OsProcess(process);
  }

  /**
   * The executable {@code command} names, absolute, relative to the working directory, or on the
   * PATH.
   */
  static Path resolve(String command, Path workingDir) throws IOException {
    if (command.contains("/")) {
      Path p = workingDir.resolve(command);
      if (!Files.exists(p)) {
        throw new IOException(command + ": no such file");
      }
      if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
        throw new IOException(command + ": not an executable file");
      }
      return p;
    }
    for (String dir :
        System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(java.io.File.pathSeparator)) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, command);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    throw new IOException(command + ": not found on the PATH");
  }

  private record OsProcess(Process process) implements RunningProcess {
    @Override
    public long pid() {
      return process.pid();
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return process.onExit().thenApply(Process::exitValue);
    }

    @Override
    public void signalGroup(String signal) {
      ProcessGroups.signal(process.pid(), signal, process.toHandle());
    }
  }
}
