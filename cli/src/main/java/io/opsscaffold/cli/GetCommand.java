package io.opsscaffold.cli;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Alert;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.ListAlertsRequest;
import io.opsscaffold.api.fleet.v1.ListFleetAgentsRequest;
import io.opsscaffold.api.fleet.v1.ListNodesRequest;
import io.opsscaffold.api.fleet.v1.ListOperationsRequest;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.fleet.v1.Operation;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code opsctl get nodes|agents|alerts|operations}: listings, every page read for the user. */
@Command(
    name = "get",
    mixinStandardHelpOptions = true,
    description = "List nodes, agents, alerts or operations.",
    subcommands = {
      GetCommand.Nodes.class,
      GetCommand.Controllers.class,
      GetCommand.Agents.class,
      GetCommand.Alerts.class,
      GetCommand.Operations.class
    })
final class GetCommand {
  @ParentCommand Opsctl root;

  /** Every node in {@code area} with {@code status} (empty: any), all pages read. */
  static List<Node> all(Connection c, String area, String status) {
    var stub = c.unary(FleetServiceGrpc.newBlockingStub(c.channel()));
    return Pages.all(
        page -> {
          var r =
              stub.listNodes(
                  ListNodesRequest.newBuilder()
                      .setArea(area)
                      .setStatus(status)
                      .setPage(page)
                      .setPageSize(Pages.SIZE)
                      .build());
          return new Pages.Page<>(r.getNodesList(), r.getTotal());
        });
  }

  /** What {@code -o} offers. */
  enum Format {
    table,
    wide,
    json
  }

  @Command(
      name = "controllers",
      mixinStandardHelpOptions = true,
      description = "List every area's controllers (managers), in a platform context.",
      footer = {"", "Example:", "  opsctl --context platform get controllers"})
  static final class Controllers implements Callable<Integer> {
    @ParentCommand GetCommand get;

    @Option(
        names = {"-o", "--output"},
        description = "table (default) or json.")
    Format format = Format.table;

    @Override
    public Integer call() {
      try (Connection c = get.root.connectAny()) {
        if (!c.platform()) {
          throw new CliException(
              CliException.USAGE,
              "get controllers needs a platform context (opsctl login ADDRESS --platform)");
        }
        return PlatformCommands.controllers(get.root, c, format);
      }
    }
  }

  @Command(
      name = "nodes",
      mixinStandardHelpOptions = true,
      description = "List nodes.",
      footer = {
        "",
        "Examples:",
        "  opsctl get nodes",
        "  opsctl get nodes --area east --status OFFLINE -o json"
      })
  static final class Nodes implements Callable<Integer> {
    @ParentCommand GetCommand get;

    @Option(names = "--area", description = "Only this area.")
    String area = "";

    @Option(names = "--status", description = "ONLINE, OFFLINE or UNCONFIRMED.")
    String status = "";

    @Option(
        names = {"-o", "--output"},
        description = "table (default), wide or json.")
    Format format = Format.table;

    @Override
    public Integer call() {
      List<Node> nodes;
      try (Connection c = get.root.connectAny()) {
        if (c.platform()) {
          return PlatformCommands.nodes(get.root, c, area, status, format);
        }
        nodes = all(c, area, status);
      }
      if (format == Format.json) {
        Render.json(get.root.out(), nodes, false);
        return 0;
      }
      long now = System.currentTimeMillis();
      Table t =
          format == Format.wide
              ? new Table(
                  "NODE",
                  "STATUS",
                  "AREA",
                  "ZONE",
                  "AGENTS",
                  "ADDRESS",
                  "HOSTNAME",
                  "VERSION",
                  "SEEN")
              : new Table("NODE", "STATUS", "AREA", "AGENTS", "ADDRESS", "SEEN");
      for (Node n : nodes) {
        String status = Render.word(n.getConnectivity(), "CONNECTIVITY_");
        List<String> cells =
            format == Format.wide
                ? List.of(
                    n.getNodeId(),
                    status,
                    n.getArea(),
                    n.getZone(),
                    String.valueOf(n.getAgentCount()),
                    n.getIp(),
                    n.getHostname(),
                    n.getDaemonVersion(),
                    Render.age(n.getLastSeen(), now))
                : List.of(
                    n.getNodeId(),
                    status,
                    n.getArea(),
                    String.valueOf(n.getAgentCount()),
                    n.getIp(),
                    Render.age(n.getLastSeen(), now));
        t.row(cells, 1);
      }
      t.print(get.root.out());
      return 0;
    }
  }

  @Command(
      name = "agents",
      mixinStandardHelpOptions = true,
      description = "List agents across the fleet.",
      footer = {
        "",
        "Examples:",
        "  opsctl get agents",
        "  opsctl get agents --node dev-node --status OFF",
        "  opsctl get agents -l rack=r7 -o wide",
        "  opsctl get agents --area east --watch"
      })
  static final class Agents implements Callable<Integer> {
    @ParentCommand GetCommand get;

    @Option(names = "--node", description = "Only this node's.")
    String node = "";

    @Option(names = "--area", description = "Only this area.")
    String area = "";

    @Option(names = "--status", description = "ON, OFF, NOT_EXIST, NO_DATA or UNKNOWN.")
    String status = "";

    @Option(names = "--type", description = "Only agents of this type.")
    String type = "";

    @Option(
        names = {"-l", "--label"},
        description = "Only nodes labelled key=value.")
    String label = "";

    @Option(
        names = {"-o", "--output"},
        description = "table (default), wide or json.")
    Format format = Format.table;

    @Option(
        names = {"-w", "--watch"},
        description =
            "Then follow each change as committed until Ctrl-C: a table redrawn in place on a"
                + " terminal, a line per change when piped.")
    boolean watch;

    @Override
    public Integer call() {
      if (watch) {
        return ViewCommands.watchAgents(get.root, node, area, status);
      }
      List<Agent> agents;
      try (Connection c = get.root.connect()) {
        agents =
            Batch.agents(
                c,
                ListFleetAgentsRequest.newBuilder()
                    .setNodeId(node)
                    .setArea(area)
                    .setStatus(status)
                    .setType(type)
                    .setLabel(label));
      }
      if (format == Format.json) {
        Render.json(get.root.out(), agents, false);
        return 0;
      }
      long now = System.currentTimeMillis();
      Table t =
          format == Format.wide
              ? new Table(
                  "NODE",
                  "AGENT",
                  "STATUS",
                  "STATE",
                  "HEALTH",
                  "PID",
                  "RESTARTS",
                  "TYPE",
                  "HEARTBEAT",
                  "MESSAGE")
              : new Table("NODE", "AGENT", "STATUS", "STATE", "PID", "RESTARTS", "HEARTBEAT");
      for (Agent a : agents) {
        String status = a.getAvailabilityName();
        String state = Render.word(a.getLifecycle(), "LIFECYCLE_");
        List<String> cells =
            format == Format.wide
                ? List.of(
                    a.getNodeId(),
                    a.getAgentId(),
                    status,
                    state,
                    Render.word(a.getHealth(), "HEALTH_"),
                    a.getPid() == 0 ? "-" : String.valueOf(a.getPid()),
                    String.valueOf(a.getRestartCount()),
                    a.getType(),
                    Render.age(a.getLastHeartbeat(), now),
                    a.getMessage())
                : List.of(
                    a.getNodeId(),
                    a.getAgentId(),
                    status,
                    state,
                    a.getPid() == 0 ? "-" : String.valueOf(a.getPid()),
                    String.valueOf(a.getRestartCount()),
                    Render.age(a.getLastHeartbeat(), now));
        t.row(cells, 2, 3);
      }
      t.print(get.root.out());
      return 0;
    }
  }

  @Command(
      name = "alerts",
      mixinStandardHelpOptions = true,
      description = "List alerts, newest first.",
      footer = {"", "Examples:", "  opsctl get alerts --state open"})
  static final class Alerts implements Callable<Integer> {
    @ParentCommand GetCommand get;

    @Option(names = "--state", description = "open or resolved (default: both).")
    String state = "";

    @Option(names = "--area", description = "Only this area.")
    String area = "";

    @Option(names = "--node", description = "Only this node's.")
    String node = "";

    @Option(
        names = {"-o", "--output"},
        description = "table (default), wide or json.")
    Format format = Format.table;

    @Option(
        names = {"-w", "--watch"},
        description =
            "Follow alerts as they open, repeat and resolve until Ctrl-C: the open ones redrawn in"
                + " place on a terminal, a line per event when piped.")
    boolean watch;

    @Override
    public Integer call() {
      if (watch) {
        return ViewCommands.watchAlerts(get.root);
      }
      List<Alert> alerts;
      try (Connection c = get.root.connect()) {
        var stub = c.unary(FleetServiceGrpc.newBlockingStub(c.channel()));
        alerts =
            Pages.all(
                page -> {
                  var r =
                      stub.listAlerts(
                          ListAlertsRequest.newBuilder()
                              .setState(state)
                              .setArea(area)
                              .setNodeId(node)
                              .setPage(page)
                              .setPageSize(Pages.SIZE)
                              .build());
                  return new Pages.Page<>(r.getAlertsList(), r.getTotal());
                });
      }
      if (format == Format.json) {
        Render.json(get.root.out(), alerts, false);
        return 0;
      }
      long now = System.currentTimeMillis();
      Table t = new Table("NODE", "AGENT", "KIND", "STATE", "COUNT", "OPENED", "REASON");
      for (Alert a : alerts) {
        String st = a.hasResolvedAt() ? "resolved" : "open";
        t.row(
            List.of(
                a.getNodeId(),
                a.getAgentId(),
                a.getKind(),
                st,
                String.valueOf(a.getCount()),
                Render.age(a.getOpenedAt(), now),
                a.getReason()),
            3);
      }
      t.print(get.root.out());
      return 0;
    }
  }

  @Command(
      name = "operations",
      aliases = "ops",
      mixinStandardHelpOptions = true,
      description = "List the operations log, newest first.",
      footer = {"", "Examples:", "  opsctl get operations --kind restart"})
  static final class Operations implements Callable<Integer> {
    @ParentCommand GetCommand get;

    @Option(names = "--kind", description = "Only this kind (restart, batch-restart, …).")
    String kind = "";

    @Option(names = "--limit", description = "At most this many (default 50).")
    int limit = 50;

    @Option(
        names = {"-o", "--output"},
        description = "table (default), wide or json.")
    Format format = Format.table;

    @Override
    public Integer call() {
      List<Operation> ops;
      try (Connection c = get.root.connect()) {
        ops =
            c.unary(FleetServiceGrpc.newBlockingStub(c.channel()))
                .listOperations(
                    ListOperationsRequest.newBuilder()
                        .setKind(kind)
                        .setPageSize(Math.max(1, Math.min(limit, 1000)))
                        .build())
                .getOperationsList();
      }
      if (format == Format.json) {
        Render.json(get.root.out(), ops, false);
        return 0;
      }
      long now = System.currentTimeMillis();
      Table t = new Table("OPERATION", "KIND", "RESULT", "OK", "FAILED", "BY", "AGE");
      for (Operation o : ops) {
        String result = o.getResult();
        t.row(
            List.of(
                o.getOperationId(),
                o.getKind(),
                result,
                String.valueOf(o.getSuccess()),
                String.valueOf(o.getFailed()),
                o.getRequestedBy(),
                Render.age(o.getRequestedAt(), now)),
            2);
      }
      t.print(get.root.out());
      return 0;
    }
  }
}
