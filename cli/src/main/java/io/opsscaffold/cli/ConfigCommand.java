package io.opsscaffold.cli;

import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code opsctl config get-contexts|use-context}. */
@Command(
    name = "config",
    mixinStandardHelpOptions = true,
    description = "Show and switch contexts; push configuration files to an agent.",
    subcommands = {
      ConfigCommand.GetContexts.class,
      ConfigCommand.UseContext.class,
      ConfigCommand.Push.class
    })
final class ConfigCommand {
  @ParentCommand Opsctl root;

  @Command(name = "get-contexts", mixinStandardHelpOptions = true, description = "List contexts.")
  static final class GetContexts implements Callable<Integer> {
    @ParentCommand ConfigCommand config;

    @Override
    public Integer call() {
      Contexts contexts = config.root.contexts();
      String current = contexts.current().orElse("");
      Table t = new Table("CURRENT", "NAME", "ADDRESS", "CA");
      contexts
          .all()
          .values()
          .forEach(
              c ->
                  t.row(
                      c.name().equals(current) ? "*" : "",
                      c.name(),
                      c.address(),
                      c.caFile().map(Object::toString).orElse("(plaintext)")));
      t.print(config.root.out());
      return 0;
    }
  }

  @Command(name = "use-context", mixinStandardHelpOptions = true, description = "Switch context.")
  static final class UseContext implements Callable<Integer> {
    @ParentCommand ConfigCommand config;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() throws IOException {
      Contexts contexts = config.root.contexts();
      if (contexts.get(name).isEmpty()) {
        throw new CliException(
            CliException.NOT_FOUND, "no context '" + name + "' (see opsctl config get-contexts)");
      }
      contexts.use(name);
      contexts.save();
      config.root.out().println("using context '" + name + "'");
      return 0;
    }
  }

  @Command(
      name = "push",
      mixinStandardHelpOptions = true,
      description =
          "Push files into an agent's config directory: shows the diff against its current files,"
              + " then applies them and prints the outcome (APPLIED, UNCHANGED, or FAILED and"
              + " rolled back).",
      footer = {
        "",
        "Examples:",
        "  opsctl config push dev-node/agent-1 agent.yaml",
        "  opsctl config push dev-node/agent-1 agent.yaml --dry-run   # the diff only"
      })
  static final class Push implements Callable<Integer> {
    @ParentCommand ConfigCommand config;

    @Parameters(index = "0", paramLabel = "NODE/AGENT")
    String target;

    @Parameters(
        index = "1..*",
        arity = "1..*",
        paramLabel = "FILE",
        description = "Files to push (by their names).")
    java.util.List<java.nio.file.Path> files;

    @picocli.CommandLine.Option(names = "--dry-run", description = "Show the diff, push nothing.")
    boolean dryRun;

    @Override
    public Integer call() throws IOException {
      Target t = Target.parse(target);
      java.util.Map<String, String> local = new java.util.LinkedHashMap<>();
      for (java.nio.file.Path f : files) {
        local.put(f.getFileName().toString(), java.nio.file.Files.readString(f));
      }
      java.io.PrintWriter out = config.root.out();
      try (Connection c = config.root.connect()) {
        var stub =
            c.unary(io.opsscaffold.api.fleet.v1.FleetServiceGrpc.newBlockingStub(c.channel()));
        var current =
            stub.getAgentConfig(
                io.opsscaffold.api.fleet.v1.GetAgentConfigRequest.newBuilder()
                    .setNodeId(t.nodeId())
                    .setAgentId(t.agentId())
                    .build());
        java.util.Map<String, String> remote = new java.util.HashMap<>();
        current.getFilesList().forEach(f -> remote.put(f.getFileName(), f.getContent()));
        boolean changes = false;
        for (var e : local.entrySet()) {
          String before = remote.getOrDefault(e.getKey(), "");
          java.util.List<String> diff =
              Diff.unified(
                  remote.containsKey(e.getKey()) ? t + ":" + e.getKey() : "/dev/null",
                  e.getKey(),
                  before,
                  e.getValue());
          diff.forEach(
              line ->
                  out.println(
                      line.startsWith("+") && !line.startsWith("+++")
                          ? Render.styled("green", line)
                          : line.startsWith("-") && !line.startsWith("---")
                              ? Render.styled("red", line)
                              : line));
          changes |= !diff.isEmpty();
        }
        if (!changes) {
          out.println("no changes against " + t + "'s files (" + current.getConfigHash() + ")");
        }
        out.flush();
        if (dryRun) {
          return 0;
        }
        var push =
            io.opsscaffold.api.fleet.v1.ConfigPush.newBuilder()
                .setNodeId(t.nodeId())
                .setAgentId(t.agentId());
        local.forEach(
            (name, content) ->
                push.addFiles(
                    io.opsscaffold.api.fleet.v1.ConfigFile.newBuilder()
                        .setFileName(name)
                        .setContent(content)));
        var result =
            stub.withDeadlineAfter(5, java.util.concurrent.TimeUnit.MINUTES)
                .batchPushConfigs(
                    io.opsscaffold.api.fleet.v1.BatchPushConfigsRequest.newBuilder()
                        .addPushes(push)
                        .build())
                .getResults(0);
        out.printf(
            "%s %s %s: %s%n",
            t,
            Render.status(result.getOutcome().isEmpty() ? result.getCode() : result.getOutcome()),
            result.getConfigHash(),
            result.getMessage());
        out.flush();
        if (!result.getOk()) {
          throw new CliException(
              CliException.FAILED, "the push to " + t + " failed: " + result.getMessage());
        }
      }
      return 0;
    }
  }
}
