package io.opsscaffold.cli;

import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.FollowAgentLogsEvent;
import io.opsscaffold.api.fleet.v1.FollowAgentLogsRequest;
import io.opsscaffold.api.fleet.v1.GetAgentLogsRequest;
import java.util.Iterator;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code opsctl logs [-f] [--tail N] node/agent}: an agent's output, read by its daemon. */
@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = "Print an agent's last output lines; -f keeps following new ones.",
    footer = {
      "",
      "Examples:",
      "  opsctl logs dev-node/agent-1 --tail 100",
      "  opsctl logs -f dev-node/agent-1      # until Ctrl-C"
    })
final class LogsCommand implements Callable<Integer> {
  @ParentCommand Opsctl root;

  @Parameters(index = "0", paramLabel = "NODE/AGENT")
  String target;

  @Option(
      names = {"-f", "--follow"},
      description = "Keep printing new lines.")
  boolean follow;

  @Option(names = "--tail", description = "How many of the last lines (default 20, at most 1000).")
  int tail = 20;

  @Override
  public Integer call() {
    Target t = Target.parse(target);
    try (Connection c = root.connect()) {
      if (!follow) {
        c.unary(FleetServiceGrpc.newBlockingStub(c.channel()))
            .getAgentLogs(
                GetAgentLogsRequest.newBuilder()
                    .setNodeId(t.nodeId())
                    .setAgentId(t.agentId())
                    .setLines(tail)
                    .build())
            .getLinesList()
            .forEach(root.out()::println);
        root.out().flush();
        return 0;
      }
      Iterator<FollowAgentLogsEvent> events =
          c.streaming(FleetServiceGrpc.newBlockingStub(c.channel()))
              .followAgentLogs(
                  FollowAgentLogsRequest.newBuilder()
                      .setNodeId(t.nodeId())
                      .setAgentId(t.agentId())
                      .setLines(tail)
                      .build());
      try {
        while (events.hasNext()) {
          FollowAgentLogsEvent e = events.next();
          if (e.hasLine()) {
            root.out().println(e.getLine());
            root.out().flush();
          }
        }
      } catch (StatusRuntimeException e) {
        throw Connection.explain(e);
      }
      return 0;
    }
  }
}
