package io.opsscaffold.cli;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetAgentRequest;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.api.fleet.v1.ListAgentsRequest;
import io.opsscaffold.api.fleet.v1.Node;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code opsctl describe node|agent}: everything the API knows about one, as a person reads it. */
@Command(
    name = "describe",
    mixinStandardHelpOptions = true,
    description = "Show one node or agent in detail.",
    subcommands = {DescribeCommand.NodeCmd.class, DescribeCommand.AgentCmd.class})
final class DescribeCommand {
  @ParentCommand Opsctl root;

  private static void field(PrintWriter out, String name, Object value) {
    String text = String.valueOf(value);
    if (!text.isEmpty()) {
      out.printf("%-16s %s%n", name + ":", text);
    }
  }

  private static String time(com.google.protobuf.Timestamp t) {
    return t.getSeconds() == 0 ? "" : Timestamps.toString(t);
  }

  @Command(
      name = "node",
      mixinStandardHelpOptions = true,
      description = "Describe a node and its agents.",
      footer = {"", "Example:", "  opsctl describe node dev-node"})
  static final class NodeCmd implements Callable<Integer> {
    @ParentCommand DescribeCommand describe;

    @Parameters(index = "0", paramLabel = "NODE")
    String nodeId;

    @Option(
        names = {"-o", "--output"},
        description = "text (default) or json.")
    String format = "text";

    @Override
    public Integer call() {
      Node n;
      List<Agent> agents;
      try (Connection c = describe.root.connect()) {
        var stub = c.unary(FleetServiceGrpc.newBlockingStub(c.channel()));
        n = stub.getNode(GetNodeRequest.newBuilder().setNodeId(nodeId).build());
        agents =
            stub.listAgents(ListAgentsRequest.newBuilder().setNodeId(nodeId).build())
                .getAgentsList();
      }
      PrintWriter out = describe.root.out();
      if (format.equals("json")) {
        Render.json(out, List.of(n), true);
        return 0;
      }
      field(out, "Node", n.getNodeId());
      field(out, "Status", Render.status(Render.word(n.getConnectivity(), "CONNECTIVITY_")));
      field(out, "Hostname", n.getHostname());
      field(
          out,
          "Address",
          n.getIp() + (n.getCloudId() == 0 ? "" : " (cloud " + n.getCloudId() + ")"));
      field(out, "Area/zone", n.getArea() + (n.getZone().isEmpty() ? "" : "/" + n.getZone()));
      field(out, "Business", n.getBusiness());
      field(out, "Labels", n.getLabelsMap().isEmpty() ? "" : n.getLabelsMap().toString());
      field(out, "OS", n.getOs() + " " + n.getArch());
      field(out, "Daemon", n.getDaemonVersion());
      field(out, "Connected", time(n.getConnectedSince()));
      field(out, "Last seen", time(n.getLastSeen()));
      if (n.hasHostStats()) {
        var h = n.getHostStats();
        field(out, "Host", h.toString().replace("\n", "  ").strip());
      }
      out.println("Agents:");
      Table t = new Table("  AGENT", "STATUS", "STATE", "PID", "RESTARTS", "MESSAGE");
      for (Agent a : agents) {
        t.row(
            List.of(
                "  " + a.getAgentId(),
                a.getAvailabilityName(),
                Render.word(a.getLifecycle(), "LIFECYCLE_"),
                a.getPid() == 0 ? "-" : String.valueOf(a.getPid()),
                String.valueOf(a.getRestartCount()),
                a.getMessage()),
            1,
            2);
      }
      t.print(out);
      return 0;
    }
  }

  @Command(
      name = "agent",
      mixinStandardHelpOptions = true,
      description = "Describe an agent: state, last exit, restart reason, last log lines.",
      footer = {"", "Example:", "  opsctl describe agent dev-node/agent-1"})
  static final class AgentCmd implements Callable<Integer> {
    @ParentCommand DescribeCommand describe;

    @Parameters(index = "0", paramLabel = "NODE/AGENT")
    String target;

    @Option(
        names = {"-o", "--output"},
        description = "text (default) or json.")
    String format = "text";

    @Override
    public Integer call() {
      Target t = Target.parse(target);
      Agent a;
      try (Connection c = describe.root.connect()) {
        a =
            c.unary(FleetServiceGrpc.newBlockingStub(c.channel()))
                .getAgent(
                    GetAgentRequest.newBuilder()
                        .setNodeId(t.nodeId())
                        .setAgentId(t.agentId())
                        .build());
      }
      PrintWriter out = describe.root.out();
      if (format.equals("json")) {
        Render.json(out, List.of(a), true);
        return 0;
      }
      field(out, "Agent", t);
      field(out, "Type", a.getType());
      field(out, "Status", Render.status(a.getAvailabilityName()));
      field(out, "State", Render.status(Render.word(a.getLifecycle(), "LIFECYCLE_")));
      field(out, "Health", Render.word(a.getHealth(), "HEALTH_"));
      field(out, "PID", a.getPid() == 0 ? "-" : a.getPid());
      field(out, "Started", time(a.getStartedAt()));
      field(out, "Heartbeat", time(a.getLastHeartbeat()));
      field(
          out,
          "Timeout",
          a.hasHeartbeatTimeout() ? Durations.toMillis(a.getHeartbeatTimeout()) + " ms" : "");
      field(out, "Restarts", a.getRestartCount());
      field(out, "Restart reason", a.getLastRestartReason());
      field(
          out,
          "Last exit",
          a.hasLastExitCode() ? a.getLastExitCode() + " at " + time(a.getLastExitAt()) : "");
      field(out, "Stop requested", a.getStopRequested() ? "yes" : "");
      field(out, "Message", a.getMessage());
      if (a.getLastLogLinesCount() > 0) {
        out.println("Last log lines:");
        a.getLastLogLinesList().forEach(l -> out.println("  " + l));
      }
      out.flush();
      return 0;
    }
  }
}
