package io.opsscaffold.cli;

import com.google.protobuf.util.Durations;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.OperateAgentRequest;
import io.opsscaffold.api.fleet.v1.OperateAgentResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code opsctl start|stop|restart node/agent}: one agent, waiting for its daemon's answer. */
abstract class OperateCommand implements Callable<Integer> {
  @ParentCommand Opsctl root;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "NODE/AGENT",
      description =
          "The agent, e.g. dev-node/agent-1; in a platform context AREA/NODE/AGENT or"
              + " CODE/AGENT, e.g. east/web-1/filebeat or 0:10.0.0.1/filebeat (or --selector for a"
              + " batch, against a manager).")
  String target;

  @Option(
      names = {"-s", "--selector"},
      description =
          "A batch over the agents picked by key=value[,key=value…]: node, area, zone,"
              + " status, type, hostname, address, version, label.")
  String selector;

  @Option(names = "--concurrency", description = "Batch: at most this many at a time (default 5).")
  int concurrency = 5;

  @Option(names = "--dry-run", description = "Batch: list the targets, do nothing.")
  boolean dryRun;

  @Option(
      names = {"-y", "--yes"},
      description = "Batch: do not ask before more than 10 agents.")
  boolean yes;

  @Option(names = "--timeout", description = "How long to wait for the daemon (default 30s).")
  Duration timeout = Duration.ZERO;

  @Option(
      names = {"-o", "--output"},
      description = "text (default) or json.")
  String format = "text";

  abstract String operation();

  @Override
  public Integer call() {
    if (selector != null) {
      if (target != null) {
        throw new CliException(CliException.USAGE, "give NODE/AGENT or --selector, not both");
      }
      return Batch.run(
          root,
          operation(),
          selector,
          concurrency,
          timeout.isZero() ? Duration.ofSeconds(30) : timeout,
          dryRun,
          yes);
    }
    if (target == null) {
      throw new CliException(CliException.USAGE, "give NODE/AGENT, or --selector for a batch");
    }
    OperateAgentResponse r;
    try (Connection c = root.connectAny()) {
      if (c.platform()) {
        return PlatformCommands.operate(root, c, operation(), target, format);
      }
      Target t = Target.parse(target);
      r =
          c.unary(FleetServiceGrpc.newBlockingStub(c.channel()))
              .withDeadlineAfter(
                  Math.max(35, timeout.toSeconds() + 5), java.util.concurrent.TimeUnit.SECONDS)
              .operateAgent(
                  OperateAgentRequest.newBuilder()
                      .setNodeId(t.nodeId())
                      .setAgentId(t.agentId())
                      .setOperation(operation())
                      .setTimeout(Durations.fromMillis(timeout.toMillis()))
                      .build());
    }
    if (format.equals("json")) {
      Render.json(root.out(), java.util.List.of(r), true);
    } else {
      root.out()
          .printf(
              "%s %s: %s (%d ms)%n",
              target, operation(), r.getMessage(), Durations.toMillis(r.getDuration()));
    }
    return 0;
  }

  @picocli.CommandLine.Command(
      name = "start",
      mixinStandardHelpOptions = true,
      description = "Start an agent.",
      footer = {"", "Example:", "  opsctl start dev-node/agent-1"})
  static final class Start extends OperateCommand {
    @Override
    String operation() {
      return "start";
    }
  }

  @picocli.CommandLine.Command(
      name = "stop",
      mixinStandardHelpOptions = true,
      description = "Stop an agent (it stays stopped until started).",
      footer = {"", "Example:", "  opsctl stop dev-node/agent-1 --timeout 10s"})
  static final class Stop extends OperateCommand {
    @Override
    String operation() {
      return "stop";
    }
  }

  @picocli.CommandLine.Command(
      name = "restart",
      mixinStandardHelpOptions = true,
      description = "Restart an agent.",
      footer = {
        "",
        "Examples:",
        "  opsctl restart dev-node/agent-1",
        "  opsctl restart --selector area=east,status=OFF --concurrency 10 --dry-run",
        "  opsctl restart -s type=filebeat --yes"
      })
  static final class Restart extends OperateCommand {
    @Override
    String operation() {
      return "restart";
    }
  }
}
