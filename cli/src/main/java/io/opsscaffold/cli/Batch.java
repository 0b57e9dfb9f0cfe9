package io.opsscaffold.cli;

import com.google.protobuf.util.Durations;
import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.AgentTarget;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateRequest;
import io.opsscaffold.api.fleet.v1.BatchProgress;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.ListFleetAgentsRequest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * A batch operation over the agents a selector picks: the targets are listed first (and are exactly
 * what is then operated on), confirmed above a size, run over the streaming RPC with a live
 * progress line on a terminal (one line per item when piped), and summed up with a table of the
 * failures.
 */
final class Batch {
  /** Above this many targets a batch asks before it runs (or needs --yes). */
  static final int CONFIRM_ABOVE = 10;

  private Batch() {}

  /** {@code area=east,status=ON,label=rack=r7} as a fleet listing's filter. */
  static ListFleetAgentsRequest.Builder selector(String text) {
    ListFleetAgentsRequest.Builder b = ListFleetAgentsRequest.newBuilder();
    for (String part : text.split(",")) {
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw new CliException(
            CliException.USAGE, "--selector: '" + part + "' is not key=value (e.g. area=east)");
      }
      String value = part.substring(eq + 1).strip();
      switch (part.substring(0, eq).strip().toLowerCase(Locale.ROOT)) {
        case "node" -> b.setNodeId(value);
        case "area" -> b.setArea(value);
        case "zone" -> b.setZone(value);
        case "status" -> b.setStatus(value);
        case "type" -> b.setType(value);
        case "hostname" -> b.setHostname(value);
        case "address" -> b.setAddress(value);
        case "version" -> b.setVersion(value);
        case "label" -> b.setLabel(value);
        default ->
            throw new CliException(
                CliException.USAGE,
                "--selector: unknown key '"
                    + part.substring(0, eq)
                    + "' (node, area, zone, status, type, hostname, address, version, label)");
      }
    }
    return b;
  }

  /** Every agent the selector picks, all pages read. */
  static List<Agent> select(Connection c, String selector) {
    return agents(c, selector(selector));
  }

  /** Every agent {@code filter} lists, all pages read. */
  static List<Agent> agents(Connection c, ListFleetAgentsRequest.Builder filter) {
    var stub = c.unary(FleetServiceGrpc.newBlockingStub(c.channel()));
    return Pages.all(
        page -> {
          var r = stub.listFleetAgents(filter.setPage(page).setPageSize(Pages.SIZE).build());
          return new Pages.Page<>(r.getAgentsList(), r.getTotal());
        });
  }

  static int run(
      Opsctl root,
      String operation,
      String selector,
      int concurrency,
      Duration itemTimeout,
      boolean dryRun,
      boolean yes) {
    PrintWriter out = root.out();
    try (Connection c = root.connect()) {
      List<Agent> targets = select(c, selector);
      if (targets.isEmpty()) {
        throw new CliException(
            CliException.NOT_FOUND, "the selector " + selector + " picks no agent");
      }
      if (dryRun) {
        Table t = new Table("NODE", "AGENT", "STATUS");
        targets.forEach(
            a -> t.row(List.of(a.getNodeId(), a.getAgentId(), a.getAvailabilityName()), 2));
        t.print(out);
        out.printf("would %s %d agents (dry run: nothing done)%n", operation, targets.size());
        out.flush();
        return 0;
      }
      if (targets.size() > CONFIRM_ABOVE && !yes && !confirm(out, operation, targets.size())) {
        throw new CliException(
            CliException.USAGE,
            operation
                + " of "
                + targets.size()
                + " agents not confirmed (run with --yes, or --dry-run to see them)");
      }
      BatchOperateRequest.Builder req =
          BatchOperateRequest.newBuilder()
              .setOperation(operation)
              .setConcurrency(concurrency)
              .setItemTimeout(Durations.fromMillis(itemTimeout.toMillis()));
      targets.forEach(
          a ->
              req.addTargets(
                  AgentTarget.newBuilder().setNodeId(a.getNodeId()).setAgentId(a.getAgentId())));
      Progress progress = new Progress(out, targets.size(), concurrency, Opsctl.colour());
      List<BatchItemResult> failures = new ArrayList<>();
      String operationId = "";
      try {
        Iterator<BatchProgress> events =
            c.streaming(FleetServiceGrpc.newBlockingStub(c.channel()))
                .streamBatchOperateAgents(req.build());
        while (events.hasNext()) {
          BatchProgress e = events.next();
          if (e.hasItem()) {
            if (!e.getItem().getOk()) {
              failures.add(e.getItem());
            }
            progress.item(e.getItem());
          } else if (e.hasSummary()) {
            operationId = e.getSummary().getOperationId();
          }
        }
      } catch (StatusRuntimeException e) {
        throw Connection.explain(e);
      }
      progress.finish();
      out.printf(
          "%s: %d ok, %d failed of %d (operation %s)%n",
          operation,
          targets.size() - failures.size(),
          failures.size(),
          targets.size(),
          operationId);
      if (!failures.isEmpty()) {
        Table t = new Table("NODE", "AGENT", "CODE", "MESSAGE");
        failures.forEach(f -> t.row(f.getNodeId(), f.getAgentId(), f.getCode(), f.getMessage()));
        t.print(out);
      }
      out.flush();
      if (!failures.isEmpty()) {
        throw new CliException(
            CliException.PARTIAL,
            failures.size() + " of " + targets.size() + " agents could not be " + past(operation));
      }
      return 0;
    }
  }

  private static String past(String operation) {
    return switch (operation) {
      case "stop" -> "stopped";
      case "start" -> "started";
      default -> operation + "ed";
    };
  }

  static boolean confirm(PrintWriter out, String operation, int n) {
    if (System.console() == null) {
      return false;
    }
    out.printf("%s %d agents? [y/N] ", operation, n);
    out.flush();
    try {
      String answer =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      return answer != null && answer.strip().toLowerCase(Locale.ROOT).startsWith("y");
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /**
   * The live progress: on a terminal one line rewritten in place (done, failed, in flight, rate,
   * ETA and a bar); otherwise one line per finished item, for logs and scripts.
   */
  static final class Progress {
    private final PrintWriter out;
    private final int total;
    private final int concurrency;
    private final boolean terminal;
    private final long started = System.nanoTime();
    private int done;
    private int failed;

    Progress(PrintWriter out, int total, int concurrency, boolean terminal) {
      this.out = out;
      this.total = total;
      this.concurrency = concurrency;
      this.terminal = terminal;
    }

    void item(BatchItemResult r) {
      done++;
      if (!r.getOk()) {
        failed++;
      }
      if (terminal) {
        out.print("\r" + line());
      } else {
        out.printf(
            "%s %s/%s: %s%n",
            r.getOk() ? "ok" : "FAILED " + r.getCode(),
            r.getNodeId(),
            r.getAgentId(),
            r.getMessage());
      }
      out.flush();
    }

    String line() {
      double secs = Math.max(0.001, (System.nanoTime() - started) / 1e9);
      double rate = done / secs;
      int inFlight = Math.min(concurrency, total - done);
      long eta = rate > 0 ? Math.round((total - done) / rate) : 0;
      int width = 20;
      int filled = (int) ((long) width * done / total);
      return "["
          + "#".repeat(filled)
          + "-".repeat(width - filled)
          + "] "
          + done
          + "/"
          + total
          + " done, "
          + failed
          + " failed, "
          + inFlight
          + " in flight, "
          + String.format(Locale.ROOT, "%.1f/s", rate)
          + ", ETA "
          + eta
          + "s ";
    }

    void finish() {
      if (terminal) {
        out.println();
      }
      out.flush();
    }
  }
}
