package io.opsscaffold.cli;

import io.opsscaffold.api.platform.v1.Agent;
import io.opsscaffold.api.platform.v1.AreaAvailability;
import io.opsscaffold.api.platform.v1.AvailabilityResponse;
import io.opsscaffold.api.platform.v1.BatchOperateRequest;
import io.opsscaffold.api.platform.v1.BatchProgress;
import io.opsscaffold.api.platform.v1.BatchResponse;
import io.opsscaffold.api.platform.v1.Controller;
import io.opsscaffold.api.platform.v1.GetAvailabilityRequest;
import io.opsscaffold.api.platform.v1.ItemResult;
import io.opsscaffold.api.platform.v1.ListAgentsRequest;
import io.opsscaffold.api.platform.v1.ListAgentsResponse;
import io.opsscaffold.api.platform.v1.ListControllersRequest;
import io.opsscaffold.api.platform.v1.ListControllersResponse;
import io.opsscaffold.api.platform.v1.PlatformServiceGrpc;
import io.opsscaffold.api.platform.v1.StaleArea;
import io.opsscaffold.api.platform.v1.Target;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * The commands in a platform context ({@code opsctl login --platform}): the same commands as
 * against a manager, answered for every area, with an AREA column. Areas the platform cannot list
 * now are said on stderr, never silently left out.
 */
final class PlatformCommands {
  private PlatformCommands() {}

  /** A command that has no platform form. */
  static CliException notOnPlatform(String command, String instead) {
    return new CliException(
        CliException.USAGE, command + " is not available in a platform context; " + instead);
  }

  private static PlatformServiceGrpc.PlatformServiceBlockingStub api(Connection c) {
    return c.unary(PlatformServiceGrpc.newBlockingStub(c.channel()));
  }

  /** {@code get nodes}: every area's hosts. */
  static int nodes(
      Opsctl root, Connection c, String area, String status, GetCommand.Format format) {
    List<Agent> all = new ArrayList<>();
    ListAgentsResponse[] last = new ListAgentsResponse[1];
    all.addAll(
        Pages.all(
            page -> {
              ListAgentsResponse r =
                  api(c)
                      .listAgents(
                          ListAgentsRequest.newBuilder()
                              .setArea(area)
                              .setStatus(status.toLowerCase(Locale.ROOT))
                              .setPage(page)
                              .setPageSize(Pages.SIZE)
                              .build());
              last[0] = r;
              return new Pages.Page<>(r.getAgentsList(), r.getTotal());
            }));
    if (format == GetCommand.Format.json) {
      Render.json(root.out(), all, false);
    } else {
      long now = System.currentTimeMillis();
      Table t =
          format == GetCommand.Format.wide
              ? new Table(
                  "AREA",
                  "NODE",
                  "CODE",
                  "STATUS",
                  "HEALTH",
                  "AGENTS",
                  "ADDRESS",
                  "HOSTNAME",
                  "VERSION",
                  "CONTROLLER",
                  "SEEN")
              : new Table("AREA", "NODE", "CODE", "STATUS", "HEALTH", "AGENTS", "SEEN");
      for (Agent a : all) {
        String statusWord = a.getStatus().toUpperCase(Locale.ROOT);
        List<String> cells =
            format == GetCommand.Format.wide
                ? List.of(
                    a.getArea(),
                    a.getId(),
                    a.getAgentCode(),
                    statusWord,
                    a.getHealthStatus(),
                    String.valueOf(a.getServiceCount()),
                    a.getAddress(),
                    a.getHostname(),
                    a.getVersion(),
                    a.getControllerId(),
                    Render.age(a.getLastHeartbeat(), now))
                : List.of(
                    a.getArea(),
                    a.getId(),
                    a.getAgentCode(),
                    statusWord,
                    a.getHealthStatus(),
                    String.valueOf(a.getServiceCount()),
                    Render.age(a.getLastHeartbeat(), now));
        t.row(cells, 3);
      }
      t.print(root.out());
    }
    if (last[0] != null) {
      warn(root, last[0].getMissingAreasList(), last[0].getStaleAreasList());
    }
    return 0;
  }

  /** Says which areas are not in the answer, or are in it from an older listing. */
  private static void warn(Opsctl root, List<String> missing, List<StaleArea> stale) {
    root.out().flush();
    if (!missing.isEmpty()) {
      System.err.println("opsctl: warning: areas not listed (no online controller): " + missing);
    }
    for (StaleArea s : stale) {
      System.err.printf(
          "opsctl: warning: area %s is from a listing %ds old (%s)%n",
          s.getArea(), s.getAge().getSeconds(), s.getReason());
    }
  }

  /** {@code get controllers}. */
  static int controllers(Opsctl root, Connection c, GetCommand.Format format) {
    ListControllersResponse r = api(c).listControllers(ListControllersRequest.getDefaultInstance());
    if (format == GetCommand.Format.json) {
      Render.json(root.out(), List.of(r), true);
      return 0;
    }
    long now = System.currentTimeMillis();
    Table t =
        new Table(
            "AREA", "CONTROLLER", "STATUS", "NODES", "LEADER", "SELECTED", "VERSION", "HEARD");
    for (Controller x : r.getControllersList()) {
      t.row(
          List.of(
              x.getArea(),
              x.getId(),
              x.getStatus().toUpperCase(Locale.ROOT),
              String.valueOf(x.getAgentCount()),
              x.getMetadataOrDefault("leader", "-"),
              x.getSelected() ? "*" : "",
              x.getVersion(),
              Render.age(x.getLastHeartbeat(), now)),
          2);
    }
    t.print(root.out());
    if (!r.getOfflineAreasList().isEmpty()) {
      root.out().flush();
      System.err.println(
          "opsctl: warning: areas without an online controller: " + r.getOfflineAreasList());
    }
    return 0;
  }

  /** {@code availability}: per area. */
  static int availability(Opsctl root, Connection c, String format) {
    AvailabilityResponse r = api(c).getAvailability(GetAvailabilityRequest.getDefaultInstance());
    if (format.equals("json")) {
      Render.json(root.out(), List.of(r), true);
      return 0;
    }
    Table t =
        new Table(
            "AREA", "NODES", "ONLINE", "ON", "OFF", "NO_DATA", "NOT_EXIST", "UNKNOWN", "TOTAL");
    for (AreaAvailability a : r.getAreasList()) {
      t.row(
          a.getArea(),
          String.valueOf(a.getAgentsTotal()),
          String.valueOf(a.getAgentsOnline()),
          String.valueOf(a.getServicesByAvailabilityOrDefault("ON", 0)),
          String.valueOf(a.getServicesByAvailabilityOrDefault("OFF", 0)),
          String.valueOf(a.getServicesByAvailabilityOrDefault("NO_DATA", 0)),
          String.valueOf(a.getServicesByAvailabilityOrDefault("NOT_EXIST", 0)),
          String.valueOf(a.getServicesByAvailabilityOrDefault("UNKNOWN", 0)),
          String.valueOf(a.getServicesTotal()));
    }
    t.print(root.out());
    warn(root, r.getMissingAreasList(), r.getStaleAreasList());
    return 0;
  }

  /**
   * {@code start|stop|restart AREA/NODE/AGENT} or {@code CODE/AGENT} (an agent code has a colon,
   * e.g. {@code 0:10.0.0.1/agent-1}): one target through the platform, streamed.
   */
  static int operate(Opsctl root, Connection c, String operation, String text, String format) {
    String[] parts = text.split("/", -1);
    Target.Builder target = Target.newBuilder();
    String agent;
    if (parts.length == 3 && !parts[0].isEmpty() && !parts[1].isEmpty() && !parts[2].isEmpty()) {
      target.setArea(parts[0]).setId(parts[1]);
      agent = parts[2];
    } else if (parts.length == 2 && parts[0].contains(":") && !parts[1].isEmpty()) {
      target.setAgentCode(parts[0]);
      agent = parts[1];
    } else {
      throw new CliException(
          CliException.USAGE,
          "'"
              + text
              + "' is not AREA/NODE/AGENT or CODE/AGENT (e.g. east/web-1/filebeat or"
              + " 0:10.0.0.1/filebeat)");
    }
    Iterator<BatchProgress> steps =
        c.unary(PlatformServiceGrpc.newBlockingStub(c.channel()))
            .withDeadlineAfter(10, java.util.concurrent.TimeUnit.MINUTES)
            .streamBatchOperate(
                BatchOperateRequest.newBuilder()
                    .setOperation(operation)
                    .addTargets(target)
                    .addServices(agent)
                    .build());
    BatchResponse summary = null;
    while (steps.hasNext()) {
      BatchProgress p = steps.next();
      if (p.hasSummary()) {
        summary = p.getSummary();
      }
    }
    if (summary == null) {
      throw new CliException(CliException.FAILED, "the platform ended the batch without a summary");
    }
    if (format.equals("json")) {
      Render.json(root.out(), List.of(summary), true);
    } else {
      for (ItemResult r : summary.getResultsList()) {
        root.out()
            .printf(
                "%s/%s/%s %s: %s%s%n",
                r.getArea().isEmpty() ? "-" : r.getArea(),
                r.getId().isEmpty() ? r.getAgentCode() : r.getId(),
                r.getService(),
                operation,
                r.getSuccess() ? "" : r.getCode() + ": ",
                r.getMessage());
      }
    }
    if (summary.getFailed() == 0) {
      return 0;
    }
    ItemResult first = summary.getResults(0);
    return switch (first.getCode()) {
      case "NOT_FOUND" -> CliException.NOT_FOUND;
      case "UNAVAILABLE" -> CliException.UNAVAILABLE;
      case "PERMISSION_DENIED", "UNAUTHENTICATED" -> CliException.DENIED;
      default -> CliException.FAILED;
    };
  }
}
