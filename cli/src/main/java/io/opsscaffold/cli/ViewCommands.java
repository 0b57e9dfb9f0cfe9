package io.opsscaffold.cli;

import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.fleet.v1.AgentEvent;
import io.opsscaffold.api.fleet.v1.AlertEvent;
import io.opsscaffold.api.fleet.v1.AvailabilityCounts;
import io.opsscaffold.api.fleet.v1.AvailabilitySummary;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetAvailabilitySummaryRequest;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.fleet.v1.WatchAgentsRequest;
import io.opsscaffold.api.fleet.v1.WatchAlertsRequest;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Views beyond listings: watches (for get … --watch), availability, top. */
final class ViewCommands {
  private ViewCommands() {}

  /** Prints every agent change as committed, one line each, until the stream ends or Ctrl-C. */
  static int watchAgents(Opsctl root, String node, String area, String status) {
    try (Connection c = root.connect()) {
      Iterator<AgentEvent> events =
          c.streaming(FleetServiceGrpc.newBlockingStub(c.channel()))
              .watchAgents(
                  WatchAgentsRequest.newBuilder()
                      .setNodeId(node)
                      .setArea(area)
                      .setStatus(status)
                      .build());
      while (events.hasNext()) {
        AgentEvent e = events.next();
        var a = e.getAgent();
        root.out()
            .printf(
                "%-8s %s/%s %s %s pid %s %s%n",
                e.getChange(),
                a.getNodeId(),
                a.getAgentId(),
                Render.status(a.getAvailabilityName()),
                Render.status(Render.word(a.getLifecycle(), "LIFECYCLE_")),
                a.getPid() == 0 ? "-" : a.getPid(),
                a.getMessage());
        root.out().flush();
      }
    } catch (StatusRuntimeException e) {
      throw Connection.explain(e);
    }
    return 0;
  }

  /** Prints alerts as they open, repeat and resolve, one line each, until Ctrl-C. */
  static int watchAlerts(Opsctl root) {
    try (Connection c = root.connect()) {
      Iterator<AlertEvent> events =
          c.streaming(FleetServiceGrpc.newBlockingStub(c.channel()))
              .watchAlerts(WatchAlertsRequest.getDefaultInstance());
      while (events.hasNext()) {
        AlertEvent e = events.next();
        var a = e.getAlert();
        root.out()
            .printf(
                "%-8s %s/%s %s x%d %s%n",
                e.getChange(),
                a.getNodeId(),
                a.getAgentId(),
                Render.status(a.hasResolvedAt() ? "resolved" : "open"),
                a.getCount(),
                a.getReason());
        root.out().flush();
      }
    } catch (StatusRuntimeException e) {
      throw Connection.explain(e);
    }
    return 0;
  }

  @Command(
      name = "availability",
      mixinStandardHelpOptions = true,
      description = "Agents per availability code, per area and per business.",
      footer = {"", "Example:", "  opsctl availability -o json"})
  static final class Availability implements Callable<Integer> {
    @ParentCommand Opsctl root;

    @Option(
        names = {"-o", "--output"},
        description = "table (default) or json.")
    String format = "table";

    @Override
    public Integer call() {
      AvailabilitySummary s;
      try (Connection c = root.connect()) {
        s =
            c.unary(FleetServiceGrpc.newBlockingStub(c.channel()))
                .getAvailabilitySummary(GetAvailabilitySummaryRequest.getDefaultInstance());
      }
      if (format.equals("json")) {
        Render.json(root.out(), List.of(s), true);
        return 0;
      }
      Table t = new Table("BY", "KEY", "ON", "OFF", "NO_DATA", "NOT_EXIST", "UNKNOWN", "TOTAL");
      row(t, "fleet", s.getOverall());
      s.getByAreaList().forEach(a -> row(t, "area", a));
      s.getByBusinessList().forEach(b -> row(t, "business", b));
      t.print(root.out());
      return 0;
    }

    private static void row(Table t, String by, AvailabilityCounts c) {
      t.row(
          by,
          c.getKey().isEmpty() ? "-" : c.getKey(),
          String.valueOf(c.getOn()),
          String.valueOf(c.getOff()),
          String.valueOf(c.getNoData()),
          String.valueOf(c.getNotExist()),
          String.valueOf(c.getUnknown()),
          String.valueOf(c.getTotal()));
    }
  }

  @Command(
      name = "top",
      mixinStandardHelpOptions = true,
      description = "Nodes by CPU, from the host measurements their daemons send.",
      subcommands = {Top.Nodes.class})
  static final class Top {
    @ParentCommand Opsctl root;

    @Command(
        name = "nodes",
        mixinStandardHelpOptions = true,
        description = "Busiest nodes first: CPU, load, memory and disk.",
        footer = {"", "Example:", "  opsctl top nodes --area east"})
    static final class Nodes implements Callable<Integer> {
      @ParentCommand Top top;

      @Option(names = "--area", description = "Only this area.")
      String area = "";

      @Override
      public Integer call() {
        List<Node> nodes;
        try (Connection c = top.root.connect()) {
          nodes = GetCommand.all(c, area, "");
        }
        Table t = new Table("NODE", "CPU", "CORES", "LOAD1", "MEMORY", "DISK", "STATS");
        long now = System.currentTimeMillis();
        nodes.stream()
            .sorted(
                Comparator.comparingDouble((Node n) -> n.getHostStats().getCpuPercent()).reversed())
            .forEach(
                n -> {
                  var h = n.getHostStats();
                  t.row(
                      n.getNodeId(),
                      n.hasHostStats()
                          ? String.format(Locale.ROOT, "%.1f%%", h.getCpuPercent())
                          : "-",
                      n.hasHostStats() ? String.valueOf(h.getCores()) : "-",
                      n.hasHostStats() ? String.format(Locale.ROOT, "%.2f", h.getLoad1()) : "-",
                      n.hasHostStats()
                          ? used(h.getMemoryTotalBytes(), h.getMemoryAvailableBytes())
                          : "-",
                      n.hasHostStats() ? used(h.getDiskTotalBytes(), h.getDiskFreeBytes()) : "-",
                      n.hasHostStats() ? Render.age(h.getAt(), now) : "-");
                });
        t.print(top.root.out());
        return 0;
      }

      private static String used(long total, long free) {
        if (total <= 0) {
          return "-";
        }
        return String.format(
            Locale.ROOT, "%d%% of %.1f GiB", 100 * (total - free) / total, total / 1073741824.0);
      }
    }
  }
}
