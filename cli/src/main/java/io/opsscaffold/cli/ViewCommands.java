package io.opsscaffold.cli;

import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.AgentEvent;
import io.opsscaffold.api.fleet.v1.AlertEvent;
import io.opsscaffold.api.fleet.v1.AvailabilityCounts;
import io.opsscaffold.api.fleet.v1.AvailabilitySummary;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetAgentMetricsRequest;
import io.opsscaffold.api.fleet.v1.GetAvailabilitySummaryRequest;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.fleet.v1.WatchAgentsRequest;
import io.opsscaffold.api.fleet.v1.WatchAlertsRequest;
import io.opsscaffold.api.status.v1.ProcessSample;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Views beyond listings: watches (for get … --watch), availability, top. */
final class ViewCommands {
  private ViewCommands() {}

  /**
   * Follows every agent change as committed until the stream ends or Ctrl-C: on a terminal, a table
   * of the agents redrawn in place; piped, one line per change.
   */
  static int watchAgents(Opsctl root, String node, String area, String status) {
    Optional<LiveView> live = LiveView.open();
    java.util.SortedMap<String, io.opsscaffold.api.fleet.v1.Agent> agents =
        new java.util.TreeMap<>();
    boolean synced = false;
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
        if (live.isEmpty()) {
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
          continue;
        }
        String key = a.getNodeId() + "/" + a.getAgentId();
        switch (e.getChange()) {
          case "SYNCED" -> synced = true;
          case "REMOVED" -> agents.remove(key);
          default -> agents.put(key, a);
        }
        if (!synced) {
          continue; // the first frame once the current state is all in
        }
        Table t = new Table("NODE", "AGENT", "STATUS", "LIFECYCLE", "PID", "RESTARTS", "MESSAGE");
        agents
            .values()
            .forEach(
                x ->
                    t.row(
                        List.of(
                            x.getNodeId(),
                            x.getAgentId(),
                            x.getAvailabilityName(),
                            Render.word(x.getLifecycle(), "LIFECYCLE_"),
                            x.getPid() == 0 ? "-" : String.valueOf(x.getPid()),
                            String.valueOf(x.getRestartCount()),
                            x.getMessage()),
                        2,
                        3));
        live.get()
            .show(
                t.lines(),
                String.format(
                    "%d agents; last: %s %s at %s (Ctrl-C to stop)",
                    agents.size(),
                    e.getChange(),
                    e.getChange().equals("SYNCED") ? "" : key,
                    java.time.LocalTime.now().withNano(0)));
      }
    } catch (StatusRuntimeException e) {
      throw Connection.explain(e);
    } finally {
      live.ifPresent(LiveView::close);
    }
    return 0;
  }

  /**
   * Follows alerts as they open, repeat and resolve until Ctrl-C: on a terminal, the open alerts
   * redrawn in place; piped, one line per event.
   */
  static int watchAlerts(Opsctl root) {
    Optional<LiveView> live = LiveView.open();
    java.util.Map<String, io.opsscaffold.api.fleet.v1.Alert> open = new java.util.LinkedHashMap<>();
    boolean synced = false;
    try (Connection c = root.connect()) {
      Iterator<AlertEvent> events =
          c.streaming(FleetServiceGrpc.newBlockingStub(c.channel()))
              .watchAlerts(WatchAlertsRequest.getDefaultInstance());
      while (events.hasNext()) {
        AlertEvent e = events.next();
        var a = e.getAlert();
        if (live.isEmpty()) {
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
          continue;
        }
        if (e.getChange().equals("SYNCED")) {
          synced = true;
        } else if (a.hasResolvedAt()) {
          open.remove(a.getAlertId());
        } else {
          open.put(a.getAlertId(), a);
        }
        if (!synced) {
          continue;
        }
        Table t = new Table("NODE", "AGENT", "KIND", "COUNT", "OPENED", "REASON");
        long now = System.currentTimeMillis();
        open.values()
            .forEach(
                x ->
                    t.row(
                        x.getNodeId(),
                        x.getAgentId(),
                        x.getKind(),
                        String.valueOf(x.getCount()),
                        Render.age(x.getOpenedAt(), now),
                        x.getReason()));
        live.get()
            .show(
                t.lines(),
                String.format(
                    "%d open alerts; last: %s %s at %s (Ctrl-C to stop)",
                    open.size(),
                    e.getChange(),
                    e.getChange().equals("SYNCED") ? "" : a.getNodeId() + "/" + a.getAgentId(),
                    java.time.LocalTime.now().withNano(0)));
      }
    } catch (StatusRuntimeException e) {
      throw Connection.explain(e);
    } finally {
      live.ifPresent(LiveView::close);
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
      try (Connection c = root.connectAny()) {
        if (c.platform()) {
          return PlatformCommands.availability(root, c, format);
        }
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
      description = "Nodes or agents by CPU, from what their daemons measure.",
      subcommands = {Top.Nodes.class, Top.Agents.class})
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

      static String used(long total, long free) {
        if (total <= 0) {
          return "-";
        }
        return String.format(
            Locale.ROOT, "%d%% of %.1f GiB", 100 * (total - free) / total, total / 1073741824.0);
      }
    }

    @Command(
        name = "agents",
        mixinStandardHelpOptions = true,
        description = {
          "Busiest running agents first: CPU and memory from each daemon's latest sample.",
          "Each agent's samples are read from its daemon, so narrow wide fleets with --node or"
              + " --area (at most "
              + Agents.MAX_AGENTS
              + " agents at a time)."
        },
        footer = {
          "",
          "Examples:",
          "  opsctl top agents --node web-01",
          "  opsctl top agents --area east --limit 5"
        })
    static final class Agents implements Callable<Integer> {
      static final int MAX_AGENTS = 500;
      private static final int CONCURRENT = 16;

      @ParentCommand Top top;

      @Option(names = "--node", description = "Only the agents of this node.")
      String node = "";

      @Option(names = "--area", description = "Only agents on nodes of this area.")
      String area = "";

      @Option(names = "--limit", description = "Show this many (default: ${DEFAULT-VALUE}).")
      int limit = 20;

      private record Row(Agent agent, java.util.Optional<ProcessSample> sample, String error) {}

      @Override
      public Integer call() throws InterruptedException {
        if (limit < 1) {
          throw new CliException(CliException.USAGE, "--limit must be at least 1");
        }
        List<Row> rows = new java.util.ArrayList<>();
        try (Connection c = top.root.connect()) {
          List<Agent> running =
              Batch.agents(
                      c,
                      io.opsscaffold.api.fleet.v1.ListFleetAgentsRequest.newBuilder()
                          .setNodeId(node)
                          .setArea(area))
                  .stream()
                  .filter(a -> a.getPid() > 0)
                  .toList();
          if (running.size() > MAX_AGENTS) {
            throw new CliException(
                CliException.USAGE,
                running.size()
                    + " agents run there; top reads each one's samples from its daemon, so narrow"
                    + " it to at most "
                    + MAX_AGENTS
                    + " with --node or --area");
          }
          var stub = c.unary(FleetServiceGrpc.newFutureStub(c.channel()));
          java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(CONCURRENT);
          List<java.util.concurrent.CompletableFuture<Row>> pending = new java.util.ArrayList<>();
          for (Agent a : running) {
            slots.acquire();
            java.util.concurrent.CompletableFuture<Row> row =
                new java.util.concurrent.CompletableFuture<>();
            var call =
                stub.getAgentMetrics(
                    GetAgentMetricsRequest.newBuilder()
                        .setNodeId(a.getNodeId())
                        .setAgentId(a.getAgentId())
                        .setDuration(com.google.protobuf.Duration.newBuilder().setSeconds(60))
                        .build());
            call.addListener(
                () -> {
                  slots.release();
                  try {
                    var samples = call.get().getSamplesList();
                    row.complete(
                        new Row(
                            a,
                            samples.isEmpty()
                                ? java.util.Optional.empty()
                                : java.util.Optional.of(samples.get(samples.size() - 1)),
                            ""));
                  } catch (java.util.concurrent.ExecutionException e) {
                    row.complete(
                        new Row(
                            a,
                            java.util.Optional.empty(),
                            io.grpc.Status.fromThrowable(e.getCause()).getCode().name()));
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    row.complete(new Row(a, java.util.Optional.empty(), "interrupted"));
                  }
                },
                Runnable::run);
            pending.add(row);
          }
          for (var r : pending) {
            rows.add(r.join());
          }
        }
        Table t = new Table("NODE", "AGENT", "CPU", "MEMORY", "THREADS", "SAMPLED");
        long now = System.currentTimeMillis();
        rows.stream()
            .sorted(
                Comparator.comparingDouble(
                        (Row r) -> r.sample().map(ProcessSample::getCpuPercent).orElse(-1.0))
                    .reversed()
                    .thenComparing(r -> r.agent().getNodeId() + "/" + r.agent().getAgentId()))
            .limit(limit)
            .forEach(
                r ->
                    t.row(
                        r.agent().getNodeId(),
                        r.agent().getAgentId(),
                        r.sample()
                            .map(s -> String.format(Locale.ROOT, "%.1f%%", s.getCpuPercent()))
                            .orElse(r.error().isEmpty() ? "-" : r.error()),
                        r.sample()
                            .map(
                                s ->
                                    String.format(
                                        Locale.ROOT, "%.1f MiB", s.getRssBytes() / 1048576.0))
                            .orElse("-"),
                        r.sample().map(s -> String.valueOf(s.getThreads())).orElse("-"),
                        r.sample().map(s -> Render.age(s.getAt(), now)).orElse("-")));
        t.print(top.root.out());
        long failed = rows.stream().filter(r -> !r.error().isEmpty()).count();
        if (failed > 0) {
          top.root
              .out()
              .printf("%d of %d agents' samples could not be read%n", failed, rows.size());
        }
        return 0;
      }
    }
  }
}
