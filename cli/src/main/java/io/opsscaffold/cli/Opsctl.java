package io.opsscaffold.cli;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code opsctl}, the operator's command line over the manager's gRPC API. Each command is a
 * picocli subcommand; failures print one line and exit with a code per kind ({@link CliException}).
 */
@Command(
    name = "opsctl",
    mixinStandardHelpOptions = true,
    version = "opsctl 0.1.0",
    description = "Operate an Ops Scaffold fleet: nodes, agents, alerts and operations.",
    subcommands = {
      LoginCommand.class,
      ConfigCommand.class,
      GetCommand.class,
      DescribeCommand.class,
      OperateCommand.Start.class,
      OperateCommand.Stop.class,
      OperateCommand.Restart.class,
      LogsCommand.class,
      ViewCommands.Availability.class,
      ViewCommands.Top.class,
      AdminCommands.Token.class,
      AdminCommands.Enrollment.class,
      AdminCommands.NodeAdmin.class,
      CommandLine.HelpCommand.class,
      picocli.AutoComplete.GenerateCompletion.class
    },
    footer = {
      "",
      "Exit codes: 0 ok, 1 failed, 2 usage or invalid request, 3 not found, 4 not authenticated or"
          + " denied, 5 manager unavailable, 6 partly failed."
    })
public final class Opsctl {
  @Option(
      names = "--context",
      scope = ScopeType.INHERIT,
      description = "The context to use (default: OPSCTL_CONTEXT, else the current one).")
  Optional<String> context = Optional.empty();

  private final Map<String, String> env;
  private final PrintWriter out;

  Opsctl(Map<String, String> env, PrintWriter out) {
    this.env = env;
    this.out = out;
  }

  Map<String, String> env() {
    return env;
  }

  PrintWriter out() {
    return out;
  }

  Contexts contexts() {
    try {
      return Contexts.load(Contexts.defaultFile(env));
    } catch (IOException e) {
      throw new CliException(
          CliException.USAGE, "the context file cannot be read: " + e.getMessage());
    }
  }

  /** A connection to the selected context's manager. */
  Connection connect() {
    Contexts.Context ctx = contexts().resolve(context, env);
    if (ctx.platform()) {
      throw PlatformCommands.notOnPlatform(
          "this command",
          "a platform context answers get nodes, get controllers, availability and"
              + " start|stop|restart AREA/NODE/AGENT; for the rest use a manager's context"
              + " (--context)");
    }
    return new Connection(ctx);
  }

  /**
   * A connection to the selected context: a manager, or a platform ({@link Connection#platform}).
   */
  Connection connectAny() {
    return new Connection(contexts().resolve(context, env));
  }

  /** Whether output may carry colour: picocli's detection (a terminal, and no NO_COLOR). */
  static boolean colour() {
    return CommandLine.Help.Ansi.AUTO.enabled();
  }

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), new PrintWriter(System.out, true), System.err));
  }

  /** The command tree of {@code root}, with an example on picocli's own completion command. */
  static CommandLine commandLine(Opsctl root) {
    CommandLine cli = new CommandLine(root);
    cli.getSubcommands()
        .get("generate-completion")
        .getCommandSpec()
        .usageMessage()
        .footer(
            "",
            "Example (bash or zsh):",
            "  opsctl generate-completion > ~/.opsctl-completion && source ~/.opsctl-completion");
    return cli;
  }

  /** Runs one command line; returns its exit code. */
  static int run(String[] args, Map<String, String> env, PrintWriter out, java.io.PrintStream err) {
    CommandLine cli = commandLine(new Opsctl(env, out));
    cli.setOut(out);
    cli.setErr(new PrintWriter(err, true));
    cli.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          CliException c =
              switch (e) {
                case CliException ce -> ce;
                case StatusRuntimeException s -> Connection.explain(s);
                default ->
                    new CliException(
                        CliException.FAILED,
                        e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
              };
          line.getErr().println("opsctl: " + c.getMessage());
          return c.exitCode();
        });
    return cli.execute(args);
  }
}
