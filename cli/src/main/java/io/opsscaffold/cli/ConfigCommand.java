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

  @Command(
      name = "get-contexts",
      mixinStandardHelpOptions = true,
      description = "List contexts (the current one starred).",
      footer = {"", "Example:", "  opsctl config get-contexts"})
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

  @Command(
      name = "use-context",
      mixinStandardHelpOptions = true,
      description = "Switch context.",
      footer = {"", "Example:", "  opsctl config use-context prod"})
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
      description = {
        "Push files into agents' config directories: shows the diff against their current files"
            + " (agents with the same diff are shown once, together), then applies them and prints"
            + " each outcome (APPLIED, UNCHANGED, or FAILED and rolled back).",
        "One agent (NODE/AGENT FILE...) or every agent a --selector picks (FILE...); more than "
            + Batch.CONFIRM_ABOVE
            + " agents are confirmed first (--yes skips the question)."
      },
      footer = {
        "",
        "Examples:",
        "  opsctl config push dev-node/agent-1 agent.yaml",
        "  opsctl config push dev-node/agent-1 agent.yaml --dry-run   # the diff only",
        "  opsctl config push --selector area=east,type=shipper shipper.yaml --yes"
      })
  static final class Push implements Callable<Integer> {
    @ParentCommand ConfigCommand config;

    @Parameters(
        arity = "1..*",
        paramLabel = "[NODE/AGENT] FILE",
        description = "The agent (without --selector), then the files to push (by their names).")
    java.util.List<String> args;

    @picocli.CommandLine.Option(
        names = {"-s", "--selector"},
        description = "Every agent this picks, e.g. area=east,status=ON (see restart --help).")
    String selector;

    @picocli.CommandLine.Option(names = "--dry-run", description = "Show the diff, push nothing.")
    boolean dryRun;

    @picocli.CommandLine.Option(
        names = {"-y", "--yes"},
        description = "Do not ask before pushing to more than " + Batch.CONFIRM_ABOVE + " agents.")
    boolean yes;

    @Override
    public Integer call() throws IOException {
      java.util.List<String> names = args;
      Target single = null;
      if (selector == null) {
        if (args.size() < 2) {
          throw new CliException(
              CliException.USAGE, "give NODE/AGENT and at least one FILE, or --selector and FILEs");
        }
        single = Target.parse(args.get(0));
        names = args.subList(1, args.size());
      }
      java.util.Map<String, String> local = new java.util.LinkedHashMap<>();
      for (String f : names) {
        java.nio.file.Path path = java.nio.file.Path.of(f);
        if (!java.nio.file.Files.isRegularFile(path)) {
          throw new CliException(CliException.USAGE, f + ": no such file");
        }
        local.put(path.getFileName().toString(), java.nio.file.Files.readString(path));
      }
      java.io.PrintWriter out = config.root.out();
      try (Connection c = config.root.connect()) {
        java.util.List<Target> targets =
            single != null
                ? java.util.List.of(single)
                : Batch.select(c, selector).stream()
                    .map(a -> new Target(a.getNodeId(), a.getAgentId()))
                    .toList();
        if (targets.isEmpty()) {
          throw new CliException(
              CliException.NOT_FOUND, "the selector " + selector + " picks no agent");
        }
        var stub =
            c.unary(io.opsscaffold.api.fleet.v1.FleetServiceGrpc.newBlockingStub(c.channel()));
        // Agents whose diff is the same are shown once, under all their names.
        java.util.Map<String, java.util.List<Target>> byDiff = new java.util.LinkedHashMap<>();
        for (Target t : targets) {
          // One agent's diff names it; several agents' diffs say "current", so equal ones group.
          String label = targets.size() == 1 ? t.toString() : "current";
          byDiff
              .computeIfAbsent(diff(stub, t, label, local), k -> new java.util.ArrayList<>())
              .add(t);
        }
        byDiff.forEach(
            (diff, agents) -> {
              if (targets.size() > 1) {
                out.println(
                    "# "
                        + agents.size()
                        + (agents.size() == 1 ? " agent: " : " agents: ")
                        + String.join(", ", agents.stream().map(Target::toString).toList()));
              }
              diff.lines()
                  .forEach(
                      line ->
                          out.println(
                              line.startsWith("+") && !line.startsWith("+++")
                                  ? Render.styled("green", line)
                                  : line.startsWith("-") && !line.startsWith("---")
                                      ? Render.styled("red", line)
                                      : line));
            });
        out.flush();
        if (dryRun) {
          if (targets.size() > 1) {
            out.printf("would push to %d agents (dry run: nothing done)%n", targets.size());
          }
          return 0;
        }
        if (targets.size() > Batch.CONFIRM_ABOVE
            && !yes
            && !Batch.confirm(out, "push to", targets.size())) {
          throw new CliException(
              CliException.USAGE,
              "push to "
                  + targets.size()
                  + " agents not confirmed (run with --yes, or --dry-run to see the diffs)");
        }
        var request = io.opsscaffold.api.fleet.v1.BatchPushConfigsRequest.newBuilder();
        for (Target t : targets) {
          var push = request.addPushesBuilder().setNodeId(t.nodeId()).setAgentId(t.agentId());
          local.forEach(
              (name, content) ->
                  push.addFiles(
                      io.opsscaffold.api.fleet.v1.ConfigFile.newBuilder()
                          .setFileName(name)
                          .setContent(content)));
        }
        var results =
            stub.withDeadlineAfter(5, java.util.concurrent.TimeUnit.MINUTES)
                .batchPushConfigs(request.build())
                .getResultsList();
        int failed = 0;
        java.util.Map<String, Integer> outcomes = new java.util.TreeMap<>();
        for (var result : results) {
          String outcome = result.getOutcome().isEmpty() ? result.getCode() : result.getOutcome();
          outcomes.merge(result.getOk() ? outcome : "FAILED", 1, Integer::sum);
          failed += result.getOk() ? 0 : 1;
          out.printf(
              "%s/%s %s %s: %s%n",
              result.getNodeId(),
              result.getAgentId(),
              Render.status(outcome),
              result.getConfigHash(),
              result.getMessage());
        }
        if (targets.size() > 1) {
          out.println(
              "config push: "
                  + String.join(
                      ", ",
                      outcomes.entrySet().stream()
                          .map(e -> e.getValue() + " " + e.getKey())
                          .toList())
                  + " of "
                  + targets.size());
        }
        out.flush();
        if (failed > 0 && targets.size() == 1) {
          throw new CliException(
              CliException.FAILED,
              "the push to " + targets.get(0) + " failed: " + results.get(0).getMessage());
        }
        if (failed > 0) {
          throw new CliException(
              CliException.PARTIAL,
              failed + " of " + targets.size() + " pushes failed (listed above)");
        }
      } catch (io.grpc.StatusRuntimeException e) {
        throw Connection.explain(e);
      }
      return 0;
    }

    /**
     * The unified diff of {@code local} against {@code t}'s current files (named {@code label} in
     * the diff's header), or why there is none.
     */
    private static String diff(
        io.opsscaffold.api.fleet.v1.FleetServiceGrpc.FleetServiceBlockingStub stub,
        Target t,
        String label,
        java.util.Map<String, String> local) {
      io.opsscaffold.api.fleet.v1.GetAgentConfigResponse current;
      try {
        current =
            stub.getAgentConfig(
                io.opsscaffold.api.fleet.v1.GetAgentConfigRequest.newBuilder()
                    .setNodeId(t.nodeId())
                    .setAgentId(t.agentId())
                    .build());
      } catch (io.grpc.StatusRuntimeException e) {
        return "(its current files cannot be read: "
            + e.getStatus().getCode()
            + " "
            + e.getStatus().getDescription()
            + ")\n";
      }
      java.util.Map<String, String> remote = new java.util.HashMap<>();
      current.getFilesList().forEach(f -> remote.put(f.getFileName(), f.getContent()));
      StringBuilder text = new StringBuilder();
      for (var e : local.entrySet()) {
        Diff.unified(
                remote.containsKey(e.getKey()) ? label + ":" + e.getKey() : "/dev/null",
                e.getKey(),
                remote.getOrDefault(e.getKey(), ""),
                e.getValue())
            .forEach(line -> text.append(line).append('\n'));
      }
      return text.isEmpty()
          ? "no changes against "
              + (label.equals("current") ? "its" : label + "'s")
              + " files ("
              + current.getConfigHash()
              + ")\n"
          : text.toString();
    }
  }
}
