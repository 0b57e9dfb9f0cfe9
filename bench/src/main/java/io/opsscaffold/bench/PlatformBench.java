package io.opsscaffold.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.compat.controller.v1.ControllerServiceGrpc;
import io.opsscaffold.api.compat.controller.v1.ListHostsRequest;
import io.opsscaffold.api.compat.controller.v1.ListHostsResponse;
import io.opsscaffold.api.platform.v1.GetAgentRequest;
import io.opsscaffold.api.platform.v1.ListAgentsRequest;
import io.opsscaffold.api.platform.v1.PlatformServiceGrpc;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The platform view over several areas: one manager per area (a process, its own PostgreSQL
 * database filled with {@code --agents} hosts of two services each), a private etcd, and the
 * platform service as a process. Measures the time to the first full index, and the latency of a
 * page of the whole fleet, a filtered listing over all of it, and finding a host by its code,
 * beside the baseline a platform without an index would have: asking every area's controller for
 * the host's address, all areas at once. Lookups and the baseline run in interleaved rounds;
 * medians of the rounds are reported with their ratio.
 */
public final class PlatformBench {
  private record Options(
      int areas,
      int agents,
      int calls,
      int rounds,
      String pgUrl,
      String pgUser,
      Path out,
      Path root) {}

  private final Options o;
  private final List<Process> processes = new ArrayList<>();
  private final List<String> databases = new ArrayList<>();
  private final List<Integer> managerPorts = new ArrayList<>();
  private final Map<String, Object> results = new LinkedHashMap<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private Path work;

  private PlatformBench(Options o) {
    this.o = o;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a =
        Report.options(
            args,
            "PlatformBench [--areas=2] [--agents=10000] [--calls=2000] [--rounds=5]"
                + " [--out=bench/target/platform.json]");
    Options o =
        new Options(
            Integer.parseInt(a.getOrDefault("areas", "2")),
            Integer.parseInt(a.getOrDefault("agents", "10000")),
            Integer.parseInt(a.getOrDefault("calls", "2000")),
            Integer.parseInt(a.getOrDefault("rounds", "5")),
            System.getenv().getOrDefault("OPS_BENCH_PG_URL", "jdbc:postgresql://127.0.0.1:5432/"),
            System.getenv().getOrDefault("OPS_BENCH_PG_USER", "postgres"),
            Path.of(a.getOrDefault("out", "bench/target/platform.json")),
            Path.of(a.getOrDefault("root", ".")).toAbsolutePath().normalize());
    if (o.areas() < 1 || o.agents() < 1 || o.calls() < o.rounds() || o.rounds() < 1) {
      System.err.println("--areas, --agents, --rounds >= 1 and --calls >= --rounds");
      System.exit(2);
    }
    new PlatformBench(o).run();
  }

  private void run() throws Exception {
    work = Files.createTempDirectory("ops-platform-bench-");
    io.opsscaffold.testing.EtcdServer etcd = io.opsscaffold.testing.EtcdServer.start();
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      results.put(
          "machine",
          Map.of(
              "cores", Runtime.getRuntime().availableProcessors(),
              "java", System.getProperty("java.version")));
      results.put("areas", o.areas());
      results.put("hosts_per_area", o.agents());
      for (int i = 1; i <= o.areas(); i++) {
        startManager(i, etcd.endpoint());
      }
      for (int i = 1; i <= o.areas(); i++) {
        fill(i);
      }
      long started = System.nanoTime();
      int platformPort = startPlatform(etcd.endpoint());
      ManagedChannel toPlatform = channel(platformPort);
      channels.add(toPlatform);
      var platform = PlatformServiceGrpc.newBlockingStub(toPlatform);
      long total = (long) o.areas() * o.agents();
      while (platform.listAgents(ListAgentsRequest.newBuilder().setPageSize(1).build()).getTotal()
          < total) {
        if (System.nanoTime() - started > TimeUnit.MINUTES.toNanos(5)) {
          throw new IllegalStateException("the platform did not index every area in 5 minutes");
        }
        Thread.sleep(20);
      }
      results.put(
          "first_full_index_s_after_start",
          Math.round((System.nanoTime() - started) / 1e7) / 100.0);

      List<ControllerServiceGrpc.ControllerServiceBlockingStub> controllers = new ArrayList<>();
      for (int port : managerPorts) {
        ManagedChannel c = channel(port);
        channels.add(c);
        controllers.add(ControllerServiceGrpc.newBlockingStub(c));
      }
      // One area's full listing, as the platform refreshes it (pages of 1,000).
      List<Long> refresh = new ArrayList<>();
      for (int r = 0; r < 7; r++) {
        refresh.add(
            time(
                () -> {
                  int n = 0;
                  for (int page = 1; ; page++) {
                    ListHostsResponse p =
                        controllers
                            .getFirst()
                            .listHosts(
                                ListHostsRequest.newBuilder()
                                    .setPage(page)
                                    .setPageSize(1000)
                                    .build());
                    n += p.getAgentsCount();
                    if (p.getAgentsCount() < 1000) {
                      return n;
                    }
                  }
                }));
      }
      refresh.sort(null);
      results.put("area_listing_ms_median_of_7", Math.round(refresh.get(3) / 1e4) / 100.0);
      results.put("area_listing_ms_fastest_of_7", Math.round(refresh.get(0) / 1e4) / 100.0);

      int perRound = o.calls() / o.rounds();
      var exec = Executors.newVirtualThreadPerTaskExecutor();
      List<Double> pageP50 = new ArrayList<>();
      List<Double> pageP99 = new ArrayList<>();
      List<Double> filteredP50 = new ArrayList<>();
      List<Double> lookupP50 = new ArrayList<>();
      List<Double> lookupP99 = new ArrayList<>();
      List<Double> scanP50 = new ArrayList<>();
      List<Double> scanP99 = new ArrayList<>();
      int pages = (int) (total / 50);
      for (int round = 0; round < o.rounds() + 1; round++) {
        boolean warmUp = round == 0;
        List<Long> page = new ArrayList<>();
        List<Long> filtered = new ArrayList<>();
        List<Long> lookup = new ArrayList<>();
        List<Long> scan = new ArrayList<>();
        for (int i = 0; i < perRound; i++) {
          int p = 1 + ThreadLocalRandom.current().nextInt(pages);
          page.add(
              time(
                  () ->
                      platform
                          .listAgents(
                              ListAgentsRequest.newBuilder().setPage(p).setPageSize(50).build())
                          .getAgentsCount()));
          if (i % 10 == 0) {
            filtered.add(
                time(
                    () ->
                        platform
                            .listAgents(
                                ListAgentsRequest.newBuilder()
                                    .setStatus("offline")
                                    .setVersion("9.9.9")
                                    .setPageSize(50)
                                    .build())
                            .getTotal()));
          }
          int area = 1 + ThreadLocalRandom.current().nextInt(o.areas());
          int host = ThreadLocalRandom.current().nextInt(o.agents());
          String ip = ip(area, host);
          lookup.add(
              time(
                  () ->
                      platform
                          .getAgent(GetAgentRequest.newBuilder().setAgentCode("0:" + ip).build())
                          .getServiceCount()));
          scan.add(
              time(
                  () -> {
                    List<CompletableFuture<Integer>> asks = new ArrayList<>();
                    for (var c : controllers) {
                      asks.add(
                          CompletableFuture.supplyAsync(
                              () ->
                                  c.listHosts(ListHostsRequest.newBuilder().setAddress(ip).build())
                                      .getAgentsCount(),
                              exec));
                    }
                    return asks.stream().mapToInt(CompletableFuture::join).sum();
                  }));
        }
        if (warmUp) {
          continue;
        }
        pageP50.add(pct(page, 50));
        pageP99.add(pct(page, 99));
        filteredP50.add(pct(filtered, 50));
        lookupP50.add(pct(lookup, 50));
        lookupP99.add(pct(lookup, 99));
        scanP50.add(pct(scan, 50));
        scanP99.add(pct(scan, 99));
      }
      results.put("rounds", o.rounds());
      results.put("calls_per_round", perRound);
      results.put("page_of_50_p50_ms", median(pageP50));
      results.put("page_of_50_p99_ms", median(pageP99));
      results.put("filtered_over_all_p50_ms", median(filteredP50));
      results.put("lookup_by_code_p50_ms", median(lookupP50));
      results.put("lookup_by_code_p99_ms", median(lookupP99));
      results.put("scan_every_area_p50_ms", median(scanP50));
      results.put("scan_every_area_p99_ms", median(scanP99));
      results.put(
          "scan_over_lookup_p50_ratio",
          Math.round(median(scanP50) / median(lookupP50) * 10) / 10.0);
      results.put(
          "lookup_p50_spread_ms",
          List.of(
              lookupP50.stream().mapToDouble(d -> d).min().orElse(0),
              lookupP50.stream().mapToDouble(d -> d).max().orElse(0)));
      exec.shutdown();
      Report.print("Platform view: " + o.areas() + " areas × " + o.agents() + " hosts", results);
      Files.createDirectories(o.out().toAbsolutePath().getParent());
      Files.writeString(o.out(), Json.write(results));
      System.out.println("written to " + o.out());
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
      for (Process p : processes.reversed()) {
        p.destroy();
        p.waitFor(20, TimeUnit.SECONDS);
      }
      etcd.close();
      for (String db : databases) {
        admin("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
      }
    }
  }

  private static String ip(int area, int host) {
    return "10." + area + "." + (host / 250) + "." + (host % 250 + 1);
  }

  private static long time(LongSupplier call) {
    long t0 = System.nanoTime();
    call.getAsLong();
    return System.nanoTime() - t0;
  }

  private static double pct(List<Long> nanos, int p) {
    List<Long> sorted = new ArrayList<>(nanos);
    sorted.sort(null);
    int i = Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1);
    return Math.round(sorted.get(Math.max(0, i)) / 1e4) / 100.0;
  }

  private static double median(List<Double> values) {
    List<Double> s = new ArrayList<>(values);
    s.sort(null);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : Math.round((s.get(n / 2 - 1) + s.get(n / 2)) * 50) / 100.0;
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .usePlaintext()
        .maxInboundMessageSize(64 * 1024 * 1024)
        .build();
  }

  private void startManager(int area, String etcd) throws Exception {
    String db = "ops_bench_platform_" + System.currentTimeMillis() + "_" + area;
    admin("CREATE DATABASE " + db);
    databases.add(db);
    int port = freePort();
    managerPorts.add(port);
    Path config = work.resolve("manager-" + area + ".yaml");
    Files.writeString(
        config,
        """
        server:
          host: 127.0.0.1
          port: %d
        data-dir: %s
        tls:
          insecure: true
        database:
          url: %s%s
          username: %s
        etcd:
          endpoints: [%s]
          insecure: true
        cluster:
          area: area-%d
          manager-id: m-%d
          advertise-url: http://127.0.0.1:%d
        """
            .formatted(
                port,
                work.resolve("data-" + area),
                o.pgUrl(),
                db,
                o.pgUser(),
                etcd,
                area,
                area,
                port));
    start("manager-" + area, o.root().resolve("manager/target/manager.jar"), config, port);
  }

  private int startPlatform(String etcd) throws Exception {
    int port = freePort();
    Path config = work.resolve("platform.yaml");
    Files.writeString(
        config,
        """
        server:
          host: 127.0.0.1
          port: %d
        data-dir: %s
        tls:
          insecure: true
        etcd:
          endpoints: [%s]
          insecure: true
        controller:
          insecure: true
        """
            .formatted(port, work.resolve("platform-data"), etcd));
    start("platform", o.root().resolve("platform/target/platform.jar"), config, port);
    return port;
  }

  private void start(String name, Path jar, Path config, int port) throws Exception {
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: build first (scripts/bench does)");
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb =
        new ProcessBuilder(
            java,
            "-Xmx1g",
            "-XX:+UseParallelGC",
            "-jar",
            jar.toString(),
            "--config",
            config.toString());
    pb.environment().put("OTEL_METRICS_EXPORTER", "none");
    pb.environment().put("OTEL_TRACES_EXPORTER", "none");
    Path log = work.resolve(name + ".log");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    processes.add(pb.start());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<Void> r =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (java.io.IOException e) {
        // not up yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException(name + " did not start; see " + log);
  }

  /** {@code --agents} hosts with two running services each, in the area's own database. */
  private void fill(int area) throws Exception {
    long now = System.currentTimeMillis();
    try (Connection c =
            DriverManager.getConnection(o.pgUrl() + databases.get(area - 1), o.pgUser(), "");
        Statement s = c.createStatement()) {
      s.execute(
          ("INSERT INTO nodes (node_id, hostname, ip, os, arch, daemon_version, area, zone,"
                  + " cloud_id, business, labels_json, connectivity, session_id,"
                  + " connected_since_ms, last_seen_ms, registered_ms)"
                  + " SELECT 'host-' || g, 'host-' || g || '.area-%d',"
                  + " '10.%d.' || (g / 250) || '.' || (g %% 250 + 1), 'Linux 6.1', 'amd64', '1.0.0',"
                  + " 'area-%d', 'z1', 0, 'bench', '{}', 'OFFLINE', NULL, NULL, %d, %d"
                  + " FROM generate_series(0, %d) g")
              .formatted(area, area, area, now, now, o.agents() - 1));
      s.execute(
          ("INSERT INTO agents (node_id, agent_id, type, lifecycle, health, pid, started_ms,"
                  + " last_heartbeat_ms, heartbeat_timeout_ms, restart_count, message, updated_ms)"
                  + " SELECT 'host-' || g, a, a, 'RUNNING', 'HEALTHY', 1000 + g, %d, %d, 15000, 0,"
                  + " 'running', %d FROM generate_series(0, %d) g, (VALUES ('filebeat'),"
                  + " ('node-exporter')) v(a)")
              .formatted(now, now, now, o.agents() - 1));
    }
  }

  private void admin(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(o.pgUrl() + "postgres", o.pgUser(), "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
