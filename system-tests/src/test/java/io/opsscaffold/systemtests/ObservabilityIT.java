package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import io.opsscaffold.testing.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What the processes export over OTLP, received in the test: every metric a Grafana dashboard
 * queries is really emitted, and a heartbeat and a batch operation each make one connected trace
 * across the daemon and the manager with the documented attributes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObservabilityIT {
  private static final Pattern METRIC = Pattern.compile("\\b(ops_[a-z0-9_]+)\\b");
  private OtlpReceiver otlp;
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    otlp = new OtlpReceiver();
    stack =
        new Stack(
            List.of("steady", "flaky"),
            Map.of("flaky", "faults:\n  crash_after: 2s\n"),
            Map.of(),
            "",
            Stack.env(
                Map.of(
                    "OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint(),
                    "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
                    "OTEL_METRIC_EXPORT_INTERVAL", "1000",
                    "OTEL_BSP_SCHEDULE_DELAY", "100",
                    "OTEL_TRACES_EXPORTER", "otlp")));
    stack.startManager().startDaemon();
    Await.until(
        Duration.ofSeconds(30),
        "steady to be ON",
        () -> stack.agent("steady"),
        a -> a.getAvailability() == 0);
  }

  @AfterAll
  void stop() throws Exception {
    stack.close();
    otlp.close();
  }

  /** Metric names (Prometheus form) in every dashboard query and template variable. */
  static Set<String> dashboardMetrics() throws IOException {
    Set<String> names = new TreeSet<>();
    try (Stream<Path> files =
        Files.list(Stack.root().resolve("observability/grafana/dashboards"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
        collect(JsonParser.parseString(Files.readString(f)), names);
      }
    }
    return names;
  }

  private static void collect(JsonElement e, Set<String> names) {
    if (e.isJsonObject()) {
      for (var entry : e.getAsJsonObject().entrySet()) {
        if ((entry.getKey().equals("expr") || entry.getKey().equals("definition"))
            && entry.getValue().isJsonPrimitive()) {
          Matcher m = METRIC.matcher(entry.getValue().getAsString());
          while (m.find()) {
            names.add(m.group(1).replaceAll("_(bucket|sum|count)$", ""));
          }
        } else {
          collect(entry.getValue(), names);
        }
      }
    } else if (e.isJsonArray()) {
      e.getAsJsonArray().forEach(x -> collect(x, names));
    }
  }

  /** Label names are not metrics: drop the ones the dashboards use in by() and selectors. */
  private static Set<String> withoutLabels(Set<String> names) {
    Set<String> labels =
        Set.of(
            "ops_area",
            "ops_availability",
            "ops_alert_kind",
            "ops_connectivity",
            "ops_node_id",
            "ops_agent_id",
            "ops_operation",
            "ops_result",
            "ops_transport");
    return names.stream()
        .filter(n -> !labels.contains(n))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  @Test
  void everyMetricADashboardQueriesIsEmittedByTheProcesses() throws Exception {
    Set<String> wanted = withoutLabels(dashboardMetrics());
    assertTrue(wanted.size() >= 15, "the dashboards query the documented metrics: " + wanted);
    // An operation, so the operation metrics have something to count.
    assertEquals(
        200, stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/steady/restart", "").statusCode());
    Set<String> missing =
        Await.until(
            Duration.ofSeconds(40),
            "every dashboard metric to be exported",
            () -> {
              Set<String> emitted = new HashSet<>();
              otlp.metricNames()
                  .values()
                  .forEach(s -> s.forEach(n -> emitted.add(n.replace('.', '_'))));
              Set<String> left = new TreeSet<>(wanted);
              left.removeAll(emitted);
              return left;
            },
            Set::isEmpty);
    assertTrue(missing.isEmpty(), "dashboards query metrics nobody emits: " + missing);
    Map<String, Set<String>> byService = otlp.metricNames();
    System.out.println("metrics by service: " + byService);
    assertTrue(
        byService.getOrDefault("ops-manager", Set.of()).contains("ops.manager.writes.applied"));
    assertTrue(byService.getOrDefault("ops-daemon", Set.of()).contains("ops.agent.restarts"));
  }

  @Test
  void aHeartbeatIsOneTraceFromTheDaemonToTheDatabaseWrite() {
    OtlpReceiver.ReceivedSpan write =
        Await.until(
            Duration.ofSeconds(30),
            "a heartbeat's write span",
            () ->
                otlp.spans().stream()
                    .filter(s -> s.name().equals("fleet.apply agent state"))
                    .filter(
                        s ->
                            otlp.spans().stream()
                                .anyMatch(
                                    h ->
                                        h.traceId().equals(s.traceId())
                                            && h.service().equals("ops-daemon")
                                            && h.name().equals("POST /heartbeat")
                                            && h.spanId().equals(s.parentSpanId())))
                    .findFirst()
                    .orElse(null),
            s -> s != null);
    assertEquals("ops-manager", write.service());
    assertEquals("MERGE", write.attributes().get("db.operation.name"));
    assertEquals("agents", write.attributes().get("db.collection.name"));
    assertTrue(Long.parseLong(write.attributes().get("ops.batch.size")) >= 1);
    // The batch span that committed it links to it rather than parenting it.
    assertTrue(otlp.spans().stream().anyMatch(s -> s.name().equals("fleet.apply batch")));
  }

  @Test
  void aBatchOperationIsOneTraceWithAChildPerTargetAcrossTheProcesses() throws Exception {
    assertEquals(
        200,
        stack
            .post(
                "/api/v1/agents/batch/restart",
                "{\"targets\": [{\"nodeId\": \""
                    + Stack.NODE
                    + "\", \"agentId\": \"steady\"},"
                    + " {\"nodeId\": \""
                    + Stack.NODE
                    + "\", \"agentId\": \"flaky\"}]}")
            .statusCode());
    OtlpReceiver.ReceivedSpan batch =
        Await.until(
            Duration.ofSeconds(30),
            "the batch span",
            () ->
                otlp.spans().stream()
                    .filter(s -> s.name().equals("batch restart"))
                    .findFirst()
                    .orElse(null),
            s -> s != null);
    assertEquals("restart", batch.attributes().get("ops.operation"));
    assertEquals("2", batch.attributes().get("ops.batch.size"));
    List<OtlpReceiver.ReceivedSpan> inTrace =
        Await.until(
            Duration.ofSeconds(30),
            "both targets in the daemon",
            () -> otlp.spans().stream().filter(s -> s.traceId().equals(batch.traceId())).toList(),
            l -> l.stream().filter(s -> s.name().equals("daemon operate agent")).count() == 2);
    List<OtlpReceiver.ReceivedSpan> targets =
        inTrace.stream().filter(s -> s.name().equals("operate agent")).toList();
    assertEquals(2, targets.size());
    assertEquals(
        Set.of("steady", "flaky"),
        targets.stream().map(s -> s.attributes().get("ops.agent.id")).collect(Collectors.toSet()));
    for (OtlpReceiver.ReceivedSpan t : targets) {
      assertEquals(batch.spanId(), t.parentSpanId(), "each target is a child of the batch");
      assertEquals(Stack.NODE, t.attributes().get("ops.node.id"));
      assertEquals("restart", t.attributes().get("ops.operation"));
    }
    for (OtlpReceiver.ReceivedSpan d :
        inTrace.stream().filter(s -> s.name().equals("daemon operate agent")).toList()) {
      assertEquals("ops-daemon", d.service());
      assertTrue(
          targets.stream().anyMatch(t -> t.spanId().equals(d.parentSpanId())),
          "the daemon's span joins its target");
      assertEquals(Stack.NODE, d.attributes().get("ops.node.id"));
    }
    assertTrue(
        inTrace.stream().anyMatch(s -> s.name().equals("process.start")),
        "the new processes are in the trace");
  }
}
