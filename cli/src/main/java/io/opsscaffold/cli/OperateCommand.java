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
      paramLabel = "NODE/AGENT",
      description = "The agent, e.g. dev-node/agent-1.")
  String target;

  @Option(names = "--timeout", description = "How long to wait for the daemon (default 30s).")
  Duration timeout = Duration.ZERO;

  @Option(
      names = {"-o", "--output"},
      description = "text (default) or json.")
  String format = "text";

  abstract String operation();

  @Override
  public Integer call() {
    Target t = Target.parse(target);
    OperateAgentResponse r;
    try (Connection c = root.connect()) {
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
              t, operation(), r.getMessage(), Durations.toMillis(r.getDuration()));
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
      footer = {"", "Example:", "  opsctl restart dev-node/agent-1"})
  static final class Restart extends OperateCommand {
    @Override
    String operation() {
      return "restart";
    }
  }
}
