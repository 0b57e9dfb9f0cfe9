package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.opsscaffold.agent.config.AgentSettings;
import io.opsscaffold.daemon.DaemonSettings;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.settings.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The compose stack and the observability files checked without a Docker engine: every file the
 * compose file and the Dockerfile reference exists, start order and health checks hang together,
 * the configs parse (ours through the apps' own strict readers), and the collector, Prometheus and
 * Grafana files fit each other.
 */
class ComposeFilesTest {
  private static final Path ROOT = Stack.root();
  private static final Path COMPOSE = ROOT.resolve("compose");

  @SuppressWarnings("unchecked")
  private static Map<String, Object> yaml(Path file) throws IOException {
    Object doc = new Yaml().load(Files.readString(file));
    assertTrue(doc instanceof Map, file + " is a YAML mapping");
    return (Map<String, Object>) doc;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Map<String, Object>> services() throws IOException {
    return (Map<String, Map<String, Object>>)
        yaml(COMPOSE.resolve("docker-compose.yml")).get("services");
  }

  @Test
  void theStackHasEveryPartWithHealthChecksAndAConsistentStartOrder() throws IOException {
    Map<String, Map<String, Object>> services = services();
    assertEquals(
        Set.of(
            "postgres",
            "etcd-certs",
            "etcd",
            "manager",
            "manager-2",
            "platform",
            "daemon-1",
            "daemon-2",
            "otel-collector",
            "jaeger",
            "prometheus",
            "grafana"),
        services.keySet());
    for (String s :
        List.of(
            "postgres",
            "etcd",
            "manager",
            "manager-2",
            "platform",
            "daemon-1",
            "daemon-2",
            "prometheus")) {
      assertTrue(services.get(s).containsKey("healthcheck"), s + " has a health check");
    }
    for (var e : services.entrySet()) {
      Object deps = e.getValue().get("depends_on");
      if (deps instanceof Map<?, ?> m) {
        for (var d : m.entrySet()) {
          assertTrue(
              services.containsKey(d.getKey()), e.getKey() + " depends on unknown " + d.getKey());
          Object condition = ((Map<?, ?>) d.getValue()).get("condition");
          if ("service_healthy".equals(condition)) {
            assertTrue(
                services.get(d.getKey()).containsKey("healthcheck"),
                e.getKey()
                    + " waits for "
                    + d.getKey()
                    + " to be healthy, which has no health check");
          }
        }
      }
    }
    assertEquals(
        Set.of("manager"), ((Map<?, ?>) services.get("daemon-1").get("depends_on")).keySet());
  }

  @Test
  void everyFileTheComposeFileAndTheDockerfileReferenceExists() throws IOException {
    List<String> missing = new ArrayList<>();
    for (var e : services().entrySet()) {
      if (e.getValue().get("build") instanceof Map<?, ?> build) {
        Path context = COMPOSE.resolve(String.valueOf(build.get("context"))).normalize();
        Path dockerfile = context.resolve(String.valueOf(build.get("dockerfile")));
        if (!Files.isRegularFile(dockerfile)) {
          missing.add(e.getKey() + ": " + dockerfile);
          continue;
        }
        String target = String.valueOf(build.get("target"));
        assertTrue(
            Files.readString(dockerfile).contains(" AS " + target),
            dockerfile + " has a stage " + target);
        for (String line : Files.readAllLines(dockerfile)) {
          if (line.startsWith("COPY ") && !line.contains("--from=")) {
            String[] parts = line.split("\\s+");
            for (int i = 1; i < parts.length - 1; i++) {
              if (!Files.exists(context.resolve(parts[i]))) {
                missing.add(dockerfile.getFileName() + " COPY " + parts[i]);
              }
            }
          }
        }
      }
      if (e.getValue().get("volumes") instanceof List<?> volumes) {
        for (Object v : volumes) {
          String source = String.valueOf(v).split(":")[0];
          if (source.startsWith(".") && !Files.exists(COMPOSE.resolve(source))) {
            missing.add(e.getKey() + " mounts " + source);
          }
        }
      }
    }
    assertTrue(missing.isEmpty(), "missing: " + missing);
  }

  @Test
  void theAppsConfigsPassTheAppsOwnReaders() throws IOException {
    ManagerSettings manager =
        ManagerSettings.read(
            Settings.load(Optional.of(COMPOSE.resolve("config/manager.yaml")), true));
    assertEquals(8080, manager.port());
    ManagerSettings second =
        ManagerSettings.read(
            Settings.load(Optional.of(COMPOSE.resolve("config/manager-2.yaml")), true));
    // Two managers of one area: one database, one etcd (over TLS), one CA, two ids.
    assertEquals(manager.database().url(), second.database().url());
    assertEquals(manager.cluster().endpoints(), second.cluster().endpoints());
    assertEquals("https", manager.cluster().endpoints().getFirst().getScheme());
    assertTrue(manager.cluster().caFile().isPresent() && manager.cluster().certFile().isPresent());
    assertEquals(manager.cluster().area(), second.cluster().area());
    assertEquals(manager.tls().dir(), second.tls().dir());
    assertEquals(
        Set.of("manager-1", "manager-2"),
        Set.of(manager.cluster().managerId(), second.cluster().managerId()));
    assertEquals(
        Optional.of(java.net.URI.create("https://manager-2:8080")),
        second.cluster().advertiseUrl());
    // The platform: the same etcd over TLS, the area's exported CA and a token of the area.
    io.opsscaffold.platform.PlatformSettings platform =
        io.opsscaffold.platform.PlatformSettings.read(
            Settings.load(Optional.of(COMPOSE.resolve("config/platform.yaml")), true));
    assertEquals(manager.cluster().endpoints(), platform.etcd().endpoints());
    assertTrue(platform.etcd().certFile().isPresent());
    assertEquals(manager.tls().caExport(), platform.controller().caFor(manager.cluster().area()));
    assertTrue(platform.controller().tokenFor(manager.cluster().area()).isPresent());
    Set<String> agentsRun = new HashSet<>();
    for (String d : List.of("daemon-1", "daemon-2")) {
      DaemonSettings daemon =
          DaemonSettings.read(
              Settings.load(Optional.of(COMPOSE.resolve("config/" + d + ".yaml")), true));
      assertEquals(List.of("manager:8080", "manager-2:8080"), daemon.link().addresses());
      daemon
          .agents()
          .forEach(
              a -> {
                agentsRun.add(a.id());
                assertTrue(
                    a.args().contains("/var/lib/ops/agents/" + a.id() + "/agent.yaml"),
                    a.args().toString());
                assertEquals(
                    Optional.of(10001),
                    a.runAs().map(io.opsscaffold.daemon.supervision.RunAs::uid),
                    a.id() + " runs as its own user, whose directories the entrypoint chowns");
              });
    }
    try (Stream<Path> agents = Files.list(COMPOSE.resolve("config/agents"))) {
      for (Path dir : agents.toList()) {
        AgentSettings agent =
            AgentSettings.read(Settings.loadLean(Optional.of(dir.resolve("agent.yaml")), true));
        assertEquals(dir.getFileName().toString(), agent.agentId());
        assertTrue(agentsRun.remove(agent.agentId()), agent.agentId() + " is run by a daemon");
      }
    }
    assertTrue(agentsRun.isEmpty(), "agents without a config: " + agentsRun);
  }

  @Test
  @SuppressWarnings("unchecked")
  void theCollectorPrometheusAndGrafanaFilesFitEachOther() throws IOException {
    Map<String, Object> collector =
        yaml(ROOT.resolve("observability/collector/otel-collector.yaml"));
    Map<String, Object> pipelines =
        (Map<String, Object>) ((Map<String, Object>) collector.get("service")).get("pipelines");
    assertEquals(Set.of("traces", "metrics", "logs"), pipelines.keySet());
    for (Object p : pipelines.values()) {
      Map<String, List<String>> pipeline = (Map<String, List<String>>) p;
      pipeline
          .get("receivers")
          .forEach(r -> assertTrue(((Map<?, ?>) collector.get("receivers")).containsKey(r), r));
      pipeline
          .get("exporters")
          .forEach(x -> assertTrue(((Map<?, ?>) collector.get("exporters")).containsKey(x), x));
    }
    Map<String, Object> prometheusExporter =
        (Map<String, Object>) ((Map<String, Object>) collector.get("exporters")).get("prometheus");
    assertEquals(
        false,
        prometheusExporter.get("add_metric_suffixes"),
        "dashboards rely on unsuffixed names");

    Map<String, Object> prometheus = yaml(ROOT.resolve("observability/prometheus/prometheus.yaml"));
    String target =
        ((List<String>)
                ((Map<String, Object>)
                        ((List<Map<String, Object>>)
                                ((List<Map<String, Object>>) prometheus.get("scrape_configs"))
                                    .get(0)
                                    .get("static_configs"))
                            .get(0))
                    .get("targets"))
            .get(0);
    assertEquals(
        "otel-collector:" + String.valueOf(prometheusExporter.get("endpoint")).split(":")[1],
        target);
    assertTrue(services().containsKey(target.split(":")[0]));

    Map<String, Object> datasources =
        yaml(ROOT.resolve("observability/grafana/provisioning/datasources/datasources.yaml"));
    Set<String> uids = new HashSet<>();
    ((List<Map<String, Object>>) datasources.get("datasources"))
        .forEach(d -> uids.add(String.valueOf(d.get("uid"))));
    assertEquals(Set.of("prometheus", "jaeger", "postgres"), uids);
    yaml(ROOT.resolve("observability/grafana/provisioning/dashboards/dashboards.yaml"));
    Set<String> titles = new HashSet<>();
    try (Stream<Path> files = Files.list(ROOT.resolve("observability/grafana/dashboards"))) {
      for (Path f : files.toList()) {
        JsonObject d = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
        titles.add(d.get("title").getAsString());
        d.getAsJsonArray("panels")
            .forEach(
                p -> {
                  String uid =
                      p.getAsJsonObject().getAsJsonObject("datasource").get("uid").getAsString();
                  assertTrue(uids.contains(uid), f.getFileName() + " uses data source " + uid);
                });
      }
    }
    assertEquals(
        Set.of(
            "Ops Scaffold / Fleet overview",
            "Ops Scaffold / State path",
            "Ops Scaffold / Operations",
            "Ops Scaffold / Node detail"),
        titles);
    assertFalse(ObservabilityIT.dashboardMetrics().isEmpty());
  }
}
