package io.opsscaffold.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.OperateAgentRequest;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The fleet benchmark (scripts/bench): N simulated daemons, each on its own gRPC connection,
 * against a real manager process on a fresh PostgreSQL database on this machine, plus a raw JDBC
 * baseline on the same table shape in the same run. Prints a table and writes JSON. Nothing here
 * asserts a time: the figures are for BENCHMARKS.md.
 *
 * <p>Phases: connect (memory per stream), throughput (rows/s counted by PostgreSQL), propagation
 * (delta sent → Ack, which the manager sends only after the commit), operation round trip,
 * reconnect storm (manager killed and restarted), raw baseline.
 */
public final class FleetBench {
  private record Options(
      int daemons,
      int agents,
      int seconds,
      int warmUp,
      int rate,
      int opRate,
      int window,
      String pgUrl,
      String pgUser,
      Path out,
      Path root,
      java.util.Set<String> phases,
      boolean tls,
      int pairs,
      int managers) {}

  private static final int WARM_UP_SECONDS = 4;

  /**
   * A PostgreSQL backend publishes its table statistics at most once a second while busy, and an
   * idle one whose last publication was under a second before holds the rest for up to 10 s
   * (PGSTAT_IDLE_INTERVAL): rows are counted only after that long without load.
   */
  private static final long STATISTICS_SETTLE_MS = 10_500;

  private static final String PHASES =
      "throughput,pairs,propagation,operations,storm,tracing,tls,raw,relay,failover";

  /** The phases with {@code --managers=2}: what two managers of one area add. */
  private static final String TWO_MANAGER_PHASES = "throughput,pairs,relay,failover";

  private final Options o;
  private final Map<String, Object> results = new LinkedHashMap<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private String database;
  private Process manager;
  private int port;

  /** With {@code --managers=2}: the area's second manager, its port, and the etcd they meet on. */
  private Process manager2;

  private int port2;
  private io.opsscaffold.testing.EtcdServer etcd;
  private Path work;
  private String otlpEndpoint;

  /** Whether the manager runs (or is about to run) with TLS and the daemons with mutual TLS. */
  private boolean tlsNow;

  /** The API channel for the current mode (admin calls, enrollment, operations). */
  private ManagedChannel api;

  private boolean apiTls;
  private String enrollmentSecret;

  private FleetBench(Options o) {
    this.o = o;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a =
        Report.options(
            args,
            "FleetBench [--daemons=200] [--agents=50] [--seconds=10] [--warm-up=4]"
                + " [--rate=1000] [--op-rate=50] [--window=4] [--phases="
                + PHASES
                + "] [--tls=true] [--pairs=5] [--managers=1|2] [--out=bench/target/bench.json]");
    Options o =
        new Options(
            Integer.parseInt(a.getOrDefault("daemons", "200")),
            Integer.parseInt(a.getOrDefault("agents", "50")),
            Integer.parseInt(a.getOrDefault("seconds", "10")),
            Integer.parseInt(a.getOrDefault("warm-up", String.valueOf(WARM_UP_SECONDS))),
            Integer.parseInt(a.getOrDefault("rate", "1000")),
            Integer.parseInt(a.getOrDefault("op-rate", "50")),
            Integer.parseInt(a.getOrDefault("window", "4")),
            System.getenv().getOrDefault("OPS_BENCH_PG_URL", "jdbc:postgresql://127.0.0.1:5432/"),
            System.getenv().getOrDefault("OPS_BENCH_PG_USER", "postgres"),
            Path.of(a.getOrDefault("out", "bench/target/bench.json")),
            Path.of(a.getOrDefault("root", ".")).toAbsolutePath().normalize(),
            java.util.Set.of(a.getOrDefault("phases", PHASES).split(",")),
            Boolean.parseBoolean(a.getOrDefault("tls", "true")),
            Integer.parseInt(a.getOrDefault("pairs", "5")),
            Integer.parseInt(a.getOrDefault("managers", "1")));
    if (o.managers() == 2 && !a.containsKey("phases")) {
      o =
          new Options(
              o.daemons(),
              o.agents(),
              o.seconds(),
              o.warmUp(),
              o.rate(),
              o.opRate(),
              o.window(),
              o.pgUrl(),
              o.pgUser(),
              o.out(),
              o.root(),
              java.util.Set.of(TWO_MANAGER_PHASES.split(",")),
              o.tls(),
              o.pairs(),
              o.managers());
    }
    if (o.managers() < 1 || o.managers() > 2) {
      System.err.println("--managers: 1 or 2");
      System.exit(2);
    }
    if (o.seconds() < 1 || o.warmUp() < 0) {
      System.err.println("--seconds must be at least 1 and --warm-up at least 0");
      System.exit(2);
    }
    if (!java.util.Set.of(PHASES.split(",")).containsAll(o.phases())) {
      System.err.println("--phases: choose from " + PHASES);
      System.exit(2);
    }
    new FleetBench(o).run();
  }

  private void run() throws Exception {
    work = Files.createTempDirectory("ops-bench-");
    database = "ops_bench_" + System.currentTimeMillis();
    admin("CREATE DATABASE " + database);
    List<SimDaemon> daemons = new java.util.concurrent.CopyOnWriteArrayList<>();
    try {
      results.put(
          "machine",
          Map.of(
              "cores",
              Runtime.getRuntime().availableProcessors(),
              "java",
              System.getProperty("java.version"),
              "os",
              System.getProperty("os.name") + " " + System.getProperty("os.version")));
      results.put(
          "options",
          Map.of(
              "daemons",
              o.daemons(),
              "agents_per_daemon",
              o.agents(),
              "seconds_per_phase",
              o.seconds(),
              "warm_up_seconds",
              o.warmUp(),
              "propagation_rate",
              o.rate(),
              "op_rate",
              o.opRate(),
              "window",
              o.window(),
              "tls",
              o.tls()));
      tlsNow = o.tls();
      if (o.managers() == 2) {
        etcd = io.opsscaffold.testing.EtcdServer.start();
      }
      startManager(false);
      if (o.managers() == 2) {
        startManager2();
      }
      Thread.sleep(2_000);
      // Each point: a full collection (which also gives the live heap), then RSS, so that both
      // RSS readings follow a collection.
      long idleLive = liveHeapBytes(manager.pid(), "idle");
      long idleRss = ProcStats.settledRssBytes(manager.pid());
      // Pings from the start, while FullStates wait for their Acks too (the manager drops silent
      // streams).
      Thread keepAlive =
          Thread.ofVirtual()
              .start(
                  () -> {
                    while (!Thread.currentThread().isInterrupted()) {
                      daemons.forEach(SimDaemon::keepAlive);
                      try {
                        Thread.sleep(250);
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  });
      connect(daemons);
      Thread.sleep(2_000);
      long connectedLive = liveHeapBytes(manager.pid(), "connected");
      long connectedRss = ProcStats.settledRssBytes(manager.pid());
      results.put(
          "memory",
          Map.of(
              "manager_rss_idle_mib",
              mib(idleRss),
              "manager_rss_connected_mib",
              mib(connectedRss),
              "kib_per_stream",
              (connectedRss - idleRss) / 1024.0 / o.daemons(),
              "live_heap_kib_per_stream",
              (connectedLive - idleLive) / 1024.0 / o.daemons()));

      if (o.phases().contains("throughput")) {
        fullLoad(daemons, o.warmUp());
        results.put("throughput", throughput(daemons, o.seconds()));
      }
      if (o.phases().contains("pairs")) {
        pairs(daemons);
      }
      if (o.phases().contains("relay")) {
        relay();
      }
      if (o.phases().contains("failover")) {
        failover(daemons);
      }
      if (o.phases().contains("propagation")) {
        propagation(daemons);
      }
      if (o.phases().contains("operations")) {
        operations();
      }
      if (o.phases().contains("storm")) {
        reconnectStorm(daemons);
      }
      if (o.phases().contains("tracing")) {
        tracingCost(daemons);
      }
      if (o.phases().contains("tls")) {
        tlsCost(daemons);
      }
      keepAlive.interrupt();
      if (o.phases().contains("raw")) {
        rawBaseline();
      }

      if (results.get("pairs") instanceof Map<?, ?> p) {
        // The headline ratio: the median of interleaved pairs, not one pass of each.
        results.put("ratio_end_to_end_to_raw", p.get("ratio_to_unnest_median"));
      } else if (results.get("throughput") instanceof Map<?, ?> t
          && results.get("raw_baseline") instanceof Map<?, ?> raw) {
        results.put(
            "ratio_end_to_end_to_raw",
            (double) t.get("rows_per_s") / (double) raw.get("rows_per_s"));
      }
      Report.print("Ops Scaffold fleet benchmark", results);
      Files.createDirectories(o.out().toAbsolutePath().getParent());
      Files.writeString(o.out(), Json.write(results) + "\n");
      System.out.println("JSON: " + o.out().toAbsolutePath());
    } finally {
      daemons.forEach(SimDaemon::close);
      if (api != null) {
        api.shutdownNow();
      }
      apiChannels.values().forEach(ManagedChannel::shutdownNow);
      if (manager != null) {
        stopManager();
      }
      if (manager2 != null) {
        manager2.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      if (etcd != null) {
        etcd.close();
      }
      admin("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    }
  }

  // ---- phases

  private void connect(List<SimDaemon> daemons) throws InterruptedException {
    long began = System.nanoTime();
    CountDownLatch synced = new CountDownLatch(o.daemons());
    for (int i = 0; i < o.daemons(); i++) {
      String nodeId = String.format("bench-%05d", i);
      SimDaemon d = new SimDaemon(channel(nodeId, null), nodeId, o.agents(), i);
      if (tlsNow) {
        d.useChannel(enrolled(d));
      }
      if (o.managers() == 2 && i % 2 == 1) {
        d.useChannel(channel(nodeId, tlsNow ? d : null, port2)); // odd daemons: the second manager
      }
      d.onSynced(synced::countDown);
      daemons.add(d);
      d.connect();
    }
    // The simulator opens its streams one after another (~120 a second here at 3,000 daemons,
    // fewer beyond): 120 s, or 30 ms a daemon for large fleets.
    long limit = Math.max(120, o.daemons() * 30L / 1000);
    if (!synced.await(limit, TimeUnit.SECONDS)) {
      throw new IllegalStateException(
          synced.getCount()
              + " daemons did not sync within "
              + limit
              + " s; streams ended: "
              + SimDaemon.STREAM_ENDS);
    }
    daemons.forEach(d -> d.onSynced(() -> {}));
    results.put(
        "connect",
        Map.of(
            "daemons",
            o.daemons(),
            "agents",
            o.daemons() * o.agents(),
            "seconds_to_sync_all",
            (System.nanoTime() - began) / 1e9,
            "streams_ended_meanwhile",
            SimDaemon.STREAM_ENDS.values().stream().mapToLong(a -> a.sum()).sum()));
    if (!SimDaemon.STREAM_ENDS.isEmpty()) {
      System.out.println("streams that ended while connecting: " + SimDaemon.STREAM_ENDS);
    }
  }

  /**
   * The throughput phase's measurement of {@link #fullLoad}: the rows are PostgreSQL's own count,
   * read when every backend has published its statistics, before the load and after it.
   */
  private Map<String, Object> throughput(List<SimDaemon> daemons, int seconds) throws Exception {
    Thread.sleep(STATISTICS_SETTLE_MS);
    long rowsBefore = rowsWritten();
    ProcStats.Cpu cpu = ProcStats.cpu(manager.pid());
    ProcStats.Cpu cpu2 =
        manager2 != null && manager2.isAlive() ? ProcStats.cpu(manager2.pid()) : null;
    ProcStats.Cpu self = ProcStats.cpu(ProcessHandle.current().pid());
    double pgCpu = ProcStats.postgresCpuSeconds();
    long began = System.nanoTime();
    fullLoad(daemons, seconds);
    double secs = (System.nanoTime() - began) / 1e9;
    // With two managers: both, since the fleet is split between them.
    double cpuCores = cpu.coresSince() + (cpu2 == null ? 0 : cpu2.coresSince());
    double simulatorCores = self.coresSince();
    double pgCores = (ProcStats.postgresCpuSeconds() - pgCpu) / secs;
    long rssAfter = ProcStats.rssBytes(manager.pid());
    Thread.sleep(STATISTICS_SETTLE_MS);
    long rows = rowsWritten() - rowsBefore;
    return Map.of(
        "rows",
        rows,
        "seconds",
        secs,
        "rows_per_s",
        rows / secs,
        "manager_cpu_cores",
        cpuCores,
        "postgres_cpu_cores",
        pgCores,
        "simulator_cpu_cores",
        simulatorCores,
        "manager_rss_mib",
        mib(rssAfter));
  }

  /**
   * Every daemon sends Deltas of all its agents as fast as its window of unacknowledged messages
   * allows.
   */
  private void fullLoad(List<SimDaemon> daemons, int seconds) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Thread> threads = new ArrayList<>();
    for (SimDaemon d : daemons) {
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      while (System.nanoTime() < end) {
                        d.awaitWindow(o.window());
                        d.sendDeltas(o.agents(), false);
                      }
                      d.awaitWindow(1);
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
  }

  /**
   * Background load of {@code rate} one-agent deltas per second; each one timed from send to its
   * Ack. The same load runs unmeasured for the warm-up first.
   */
  private void propagation(List<SimDaemon> daemons) throws Exception {
    if (o.warmUp() > 0) {
      daemons.forEach(d -> d.latencySink(nanos -> {}));
      propagationLoad(daemons, o.warmUp());
    }
    ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    daemons.forEach(d -> d.latencySink(latencies::add));
    propagationLoad(daemons, o.seconds());
    Thread.sleep(1_000);
    List<Long> sorted = new ArrayList<>(latencies);
    Collections.sort(sorted);
    results.put(
        "propagation",
        Map.of(
            "rate_per_s",
            o.rate(),
            "samples",
            sorted.size(),
            "p50_ms",
            pct(sorted, 50),
            "p99_ms",
            pct(sorted, 99),
            "max_ms",
            pct(sorted, 100)));
  }

  /**
   * Every daemon sends one-agent deltas at its share of {@code rate}, spread evenly over the fleet.
   */
  private void propagationLoad(List<SimDaemon> daemons, int seconds) throws InterruptedException {
    long intervalNanos = (long) (1e9 * daemons.size() / o.rate());
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < daemons.size(); i++) {
      SimDaemon d = daemons.get(i);
      long offset = intervalNanos * i / daemons.size();
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    long next = System.nanoTime() + offset;
                    while (next < end) {
                      long wait = next - System.nanoTime();
                      if (wait > 0) {
                        try {
                          TimeUnit.NANOSECONDS.sleep(wait);
                        } catch (InterruptedException e) {
                          return;
                        }
                      }
                      d.sendDeltas(1, true);
                      next += intervalNanos;
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
  }

  /**
   * OperateAgent over gRPC at {@code opRate}/s to random simulated daemons (which answer at once);
   * the calls of the warm-up are not timed.
   */
  private void operations() throws Exception {
    ManagedChannel ch = channel("api", null);
    try {
      var stub = FleetServiceGrpc.newBlockingStub(ch).withInterceptors(admin());
      List<Long> times = new ArrayList<>();
      int failed = 0;
      long interval = TimeUnit.SECONDS.toNanos(1) / o.opRate();
      long measured = System.nanoTime() + TimeUnit.SECONDS.toNanos(o.warmUp());
      long end = measured + TimeUnit.SECONDS.toNanos(o.seconds());
      java.util.Random r = new java.util.Random(7);
      long next = System.nanoTime();
      while (next < end) {
        long wait = next - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        long t0 = System.nanoTime();
        try {
          stub.withDeadlineAfter(10, TimeUnit.SECONDS)
              .operateAgent(
                  OperateAgentRequest.newBuilder()
                      .setNodeId(String.format("bench-%05d", r.nextInt(o.daemons())))
                      .setAgentId("agent-" + r.nextInt(o.agents()))
                      .setOperation("restart")
                      .build());
          if (t0 >= measured) {
            times.add(System.nanoTime() - t0);
          }
        } catch (RuntimeException e) {
          if (t0 >= measured) {
            failed++;
          }
        }
        next += interval;
      }
      Collections.sort(times);
      results.put(
          "operation_round_trip",
          Map.of(
              "rate_per_s",
              o.opRate(),
              "calls",
              times.size(),
              "failed",
              failed,
              "p50_ms",
              pct(times, 50),
              "p99_ms",
              pct(times, 99),
              "max_ms",
              pct(times, 100)));
    } finally {
      ch.shutdownNow();
    }
  }

  /**
   * kill -9 of the manager with every daemon connected; time until all reconnected and resynced.
   */
  private void reconnectStorm(List<SimDaemon> daemons) throws Exception {
    results.put("reconnect_storm", restart(daemons, false, true));
  }

  /**
   * Stops the manager ({@code kill -9}, or gracefully so that a flight recording is written),
   * starts it again, and waits until every daemon is back and resynced.
   */
  private Map<String, Object> restart(List<SimDaemon> daemons, boolean tracing, boolean kill)
      throws Exception {
    CountDownLatch synced = new CountDownLatch(daemons.size());
    daemons.forEach(d -> d.onSynced(synced::countDown));
    long killed = System.nanoTime();
    if (kill) {
      manager.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    } else {
      stopManager();
    }
    startManager(tracing);
    long up = System.nanoTime();
    boolean all = synced.await(120, TimeUnit.SECONDS);
    long done = System.nanoTime();
    daemons.forEach(d -> d.onSynced(() -> {}));
    return Map.of(
        "daemons",
        daemons.size(),
        "all_converged",
        all,
        "not_converged",
        synced.getCount(),
        "seconds_kill_to_converged",
        (done - killed) / 1e9,
        "seconds_manager_start",
        (up - killed) / 1e9,
        "seconds_up_to_converged",
        (done - up) / 1e9);
  }

  /**
   * The throughput phase on freshly started managers, alternating tracing off and on (OTLP export
   * to a local sink, the SDK's default sampler, a sampled trace context on every delta): off, on,
   * off, on, off. Each manager first gets the warm-up ({@code --warm-up} s) of the same load,
   * unmeasured, so that its JIT compilation is not counted. The cost is mean(on) against mean(off);
   * the off runs on both sides of each on run keep drift during the run (the simulator warming up,
   * the table growing) out of it.
   */
  private void tracingCost(List<SimDaemon> daemons) throws Exception {
    List<Map<String, Object>> off = new ArrayList<>();
    List<Map<String, Object>> on = new ArrayList<>();
    long requests = 0;
    long bytes = 0;
    try (OtlpSink sink = new OtlpSink()) {
      otlpEndpoint = sink.endpoint();
      for (int run = 0; run < 5; run++) {
        boolean traced = run % 2 == 1;
        restart(daemons, traced, false);
        daemons.forEach(d -> d.traced(traced));
        fullLoad(daemons, o.warmUp());
        long requestsBefore = sink.requests();
        long bytesBefore = sink.bytes();
        (traced ? on : off).add(throughput(daemons, o.seconds()));
        if (traced) {
          daemons.forEach(d -> d.traced(false));
          Thread.sleep(
              2_000); // the batch span processor exports what is left (every 1 s by default)
          requests += sink.requests() - requestsBefore;
          bytes += sink.bytes() - bytesBefore;
        }
      }
    } finally {
      otlpEndpoint = null;
    }
    double onRate = mean(on, "rows_per_s");
    double offRate = mean(off, "rows_per_s");
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("rows_per_s_off_runs", off.stream().map(m -> m.get("rows_per_s")).toList());
    r.put("rows_per_s_on_runs", on.stream().map(m -> m.get("rows_per_s")).toList());
    r.put("rows_per_s_off", offRate);
    r.put("rows_per_s_on", onRate);
    r.put("cost", 1 - onRate / offRate);
    r.put(
        "manager_cpu_us_per_row_off",
        off.stream().mapToDouble(FleetBench::cpuMicrosPerRow).average().orElse(0));
    r.put(
        "manager_cpu_us_per_row_on",
        on.stream().mapToDouble(FleetBench::cpuMicrosPerRow).average().orElse(0));
    r.put("simulator_cpu_cores_off", mean(off, "simulator_cpu_cores"));
    r.put("simulator_cpu_cores_on", mean(on, "simulator_cpu_cores"));
    r.put("otlp_export_requests", requests);
    r.put("otlp_export_kib", bytes / 1024.0);
    results.put("tracing", r);
  }

  /**
   * The link's cost of TLS: the throughput phase on freshly started managers, alternating plaintext
   * and mutual TLS (the daemons enrolled once, each with its own certificate): plain, TLS, plain,
   * TLS, plain, as the tracing phase alternates, with each manager's warm-up unmeasured. Also the
   * time every daemon needs to reconnect and resync after each restart, handshakes included.
   */
  private void tlsCost(List<SimDaemon> daemons) throws Exception {
    List<Map<String, Object>> plain = new ArrayList<>();
    List<Map<String, Object>> secure = new ArrayList<>();
    List<Object> resyncPlain = new ArrayList<>();
    List<Object> resyncTls = new ArrayList<>();
    for (int run = 0; run < 5; run++) {
      tlsNow = run % 2 == 1;
      for (SimDaemon d : daemons) {
        d.useChannel(tlsNow ? enrolled(d) : channel(d.nodeId(), null));
      }
      Map<String, Object> back = restart(daemons, false, false);
      (tlsNow ? resyncTls : resyncPlain).add(back.get("seconds_up_to_converged"));
      fullLoad(daemons, o.warmUp());
      (tlsNow ? secure : plain).add(throughput(daemons, o.seconds()));
    }
    double plainRate = mean(plain, "rows_per_s");
    double tlsRate = mean(secure, "rows_per_s");
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("rows_per_s_plaintext_runs", plain.stream().map(m -> m.get("rows_per_s")).toList());
    r.put("rows_per_s_tls_runs", secure.stream().map(m -> m.get("rows_per_s")).toList());
    r.put("rows_per_s_plaintext", plainRate);
    r.put("rows_per_s_tls", tlsRate);
    r.put("cost", 1 - tlsRate / plainRate);
    r.put(
        "manager_cpu_us_per_row_plaintext",
        plain.stream().mapToDouble(FleetBench::cpuMicrosPerRow).average().orElse(0));
    r.put(
        "manager_cpu_us_per_row_tls",
        secure.stream().mapToDouble(FleetBench::cpuMicrosPerRow).average().orElse(0));
    r.put("simulator_cpu_cores_plaintext", mean(plain, "simulator_cpu_cores"));
    r.put("simulator_cpu_cores_tls", mean(secure, "simulator_cpu_cores"));
    r.put("seconds_restart_to_resynced_plaintext", resyncPlain);
    r.put("seconds_restart_to_resynced_tls", resyncTls);
    results.put("tls", r);
  }

  /**
   * A channel to the manager in the current mode: plaintext, or TLS trusting the manager's CA and
   * presenting {@code identity}'s certificate when given.
   */
  private ManagedChannel channel(String label, SimDaemon identity) {
    return channel(label, identity, port);
  }

  private ManagedChannel channel(String label, SimDaemon identity, int port) {
    if (!tlsNow) {
      return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }
    try {
      var ssl =
          io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forClient()
              .trustManager(work.resolve("tls").resolve("ca.crt").toFile());
      if (identity != null) {
        ssl.keyManager(identity.key.getPrivate(), identity.certificate);
      }
      return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl.build()).build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException("TLS for " + label + ": " + e.getMessage(), e);
    }
  }

  /** The API channel of the current mode (rebuilt when the mode changes). */
  private ManagedChannel api() {
    if (api == null || apiTls != tlsNow) {
      if (api != null) {
        api.shutdownNow();
      }
      api = channel("api", null);
      apiTls = tlsNow;
    }
    return api;
  }

  /**
   * A mutual-TLS channel for {@code d}, enrolling it first (its own key, a CSR, the manager's
   * EnrollmentService with a token the bench creates once with the bootstrap admin token).
   */
  private ManagedChannel enrolled(SimDaemon d) {
    if (d.certificate == null) {
      if (enrollmentSecret == null) {
        enrollmentSecret =
            io.opsscaffold.api.admin.v1.AdminServiceGrpc.newBlockingStub(api())
                .withInterceptors(admin())
                .createEnrollmentToken(
                    io.opsscaffold.api.admin.v1.CreateEnrollmentTokenRequest.newBuilder()
                        .setDescription("fleet benchmark")
                        .build())
                .getSecret();
      }
      java.security.KeyPair pair = io.opsscaffold.security.CertificateAuthority.newKeyPair();
      var answer =
          io.opsscaffold.api.admin.v1.EnrollmentServiceGrpc.newBlockingStub(api())
              .enroll(
                  io.opsscaffold.api.admin.v1.EnrollRequest.newBuilder()
                      .setToken(enrollmentSecret)
                      .setNodeId(d.nodeId())
                      .setCsrPem(
                          io.opsscaffold.security.Pem.encode(
                              io.opsscaffold.security.CertificateRequests.create(pair, d.nodeId())))
                      .build());
      d.key = pair;
      d.certificate = io.opsscaffold.security.Pem.certificates(answer.getCertificatePem()).get(0);
    }
    return channel(d.nodeId(), d);
  }

  /**
   * Sends the manager's bootstrap admin token (with TLS; without, calls are the insecure admin).
   */
  private io.grpc.ClientInterceptor admin() {
    io.grpc.Metadata h = new io.grpc.Metadata();
    Path token = work.resolve("data").resolve("admin.token");
    if (tlsNow) {
      try {
        h.put(
            io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
            "Bearer " + Files.readString(token).strip());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(h);
  }

  private static double mean(List<Map<String, Object>> runs, String key) {
    return runs.stream().mapToDouble(m -> ((Number) m.get(key)).doubleValue()).average().orElse(0);
  }

  /**
   * The best plain JDBC upsert on the same table shape and key space: UNNEST + ON CONFLICT, 5,000
   * rows a commit.
   */
  /** One pass of the raw UNNEST upsert after its warm-up (see {@link #pairs} for the ratio). */
  private void rawBaseline() throws Exception {
    ensureRawTable();
    rawRun(false, o.warmUp()); // the warm-up's rows are not counted
    results.put("raw_baseline", rawRun(false, o.seconds()));
  }

  /**
   * End-to-end and raw, measured as interleaved repeated pairs, since one pass of each is noise on
   * a shared two-core machine: {@code --pairs} rounds of the throughput phase, the raw UNNEST
   * upsert and the raw COPY + MERGE, each {@code --seconds} long, in alternating order (E U C, C U
   * E, ...) so that drift during the run (the table growing, the machine warming) falls on both
   * sides. Reported: each round's figures, the median of each, and the median and range of the
   * ratios end-to-end ÷ raw, with the manager's CPU per row.
   */
  private void pairs(List<SimDaemon> daemons) throws Exception {
    ensureRawTable();
    rawRun(false, o.warmUp()); // warm the raw paths' plans and caches, unmeasured
    rawRun(true, o.warmUp());
    List<Map<String, Object>> rounds = new ArrayList<>();
    List<Double> e2e = new ArrayList<>();
    List<Double> unnest = new ArrayList<>();
    List<Double> copy = new ArrayList<>();
    List<Double> toUnnest = new ArrayList<>();
    List<Double> toCopy = new ArrayList<>();
    List<Double> cpuPerRow = new ArrayList<>();
    for (int i = 0; i < o.pairs(); i++) {
      Map<String, Object> t = null;
      Map<String, Object> u = null;
      Map<String, Object> c = null;
      for (String step : i % 2 == 0 ? List.of("e", "u", "c") : List.of("c", "u", "e")) {
        switch (step) {
          case "e" -> t = throughput(daemons, o.seconds());
          case "u" -> u = rawRun(false, o.seconds());
          default -> c = rawRun(true, o.seconds());
        }
      }
      double te = (double) t.get("rows_per_s");
      double tu = (double) u.get("rows_per_s");
      double tc = (double) c.get("rows_per_s");
      e2e.add(te);
      unnest.add(tu);
      copy.add(tc);
      toUnnest.add(te / tu);
      toCopy.add(te / tc);
      cpuPerRow.add(cpuMicrosPerRow(t));
      rounds.add(
          Map.of(
              "end_to_end_rows_per_s",
              te,
              "unnest_rows_per_s",
              tu,
              "copy_merge_rows_per_s",
              tc,
              "manager_cpu_us_per_row",
              cpuMicrosPerRow(t)));
      System.out.printf(
          "pair %d: end-to-end %.0f rows/s, raw UNNEST %.0f, raw COPY+MERGE %.0f; ratio %.2f /"
              + " %.2f; manager %.1f µs CPU per row%n",
          i + 1, te, tu, tc, te / tu, te / tc, cpuMicrosPerRow(t));
    }
    results.put(
        "pairs",
        Map.of(
            "rounds",
            rounds,
            "end_to_end_rows_per_s_median",
            median(e2e),
            "unnest_rows_per_s_median",
            median(unnest),
            "copy_merge_rows_per_s_median",
            median(copy),
            "ratio_to_unnest_median",
            median(toUnnest),
            "ratio_to_unnest_range",
            List.of(Collections.min(toUnnest), Collections.max(toUnnest)),
            "ratio_to_copy_merge_median",
            median(toCopy),
            "ratio_to_copy_merge_range",
            List.of(Collections.min(toCopy), Collections.max(toCopy)),
            "manager_cpu_us_per_row_median",
            median(cpuPerRow)));
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private boolean rawTable;

  private void ensureRawTable() throws SQLException {
    if (rawTable) {
      return;
    }
    try (Connection c = DriverManager.getConnection(o.pgUrl() + database, o.pgUser(), "");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE bench_raw (LIKE agents INCLUDING ALL) WITH (fillfactor = 70)");
    }
    rawTable = true;
  }

  private static final String RAW_COLUMNS =
      "node_id, agent_id, type, lifecycle, health, pid, heartbeat_timeout_ms, restart_count,"
          + " message, updated_ms, last_heartbeat_ms";

  /**
   * Plain JDBC on the agents table's shape and the fleet's key space for {@code seconds}: batches
   * of up to 5,000 distinct rows per commit, {@code synchronous_commit} on. {@code copy} false: one
   * prepared {@code INSERT ... SELECT FROM UNNEST(...) ON CONFLICT DO UPDATE} per batch (the
   * manager's own statement shape); true: {@code COPY} of the batch into a temporary table, then
   * one {@code MERGE} from it (the fastest raw path we could build).
   */
  private Map<String, Object> rawRun(boolean copy, int seconds) throws Exception {
    long keys = (long) o.daemons() * o.agents();
    int batch = (int) Math.min(5_000, keys);
    long rows = 0;
    java.util.Random r = new java.util.Random(copy ? 5 : 3);
    try (Connection c = DriverManager.getConnection(o.pgUrl() + database, o.pgUser(), "")) {
      if (copy) {
        try (Statement s = c.createStatement()) {
          s.execute(
              "CREATE TEMPORARY TABLE bench_stage (LIKE bench_raw INCLUDING DEFAULTS)"
                  + " ON COMMIT DELETE ROWS");
        }
      }
      c.setAutoCommit(false);
      String upsert =
          "INSERT INTO bench_raw ("
              + RAW_COLUMNS
              + ") SELECT * FROM UNNEST(?::varchar[], ?::varchar[], ?::varchar[], ?::varchar[],"
              + " ?::varchar[], ?::bigint[], ?::bigint[], ?::bigint[], ?::varchar[], ?::bigint[],"
              + " ?::bigint[]) ON CONFLICT (node_id, agent_id) DO UPDATE SET lifecycle ="
              + " EXCLUDED.lifecycle, health = EXCLUDED.health, pid = EXCLUDED.pid, restart_count"
              + " = EXCLUDED.restart_count, message = EXCLUDED.message, updated_ms ="
              + " EXCLUDED.updated_ms, last_heartbeat_ms = EXCLUDED.last_heartbeat_ms";
      String merge =
          "MERGE INTO bench_raw t USING bench_stage s ON t.node_id = s.node_id AND t.agent_id ="
              + " s.agent_id WHEN MATCHED THEN UPDATE SET lifecycle = s.lifecycle, health ="
              + " s.health, pid = s.pid, restart_count = s.restart_count, message = s.message,"
              + " updated_ms = s.updated_ms, last_heartbeat_ms = s.last_heartbeat_ms WHEN NOT"
              + " MATCHED THEN INSERT ("
              + RAW_COLUMNS
              + ") VALUES (s.node_id, s.agent_id, s.type, s.lifecycle, s.health, s.pid,"
              + " s.heartbeat_timeout_ms, s.restart_count, s.message, s.updated_ms,"
              + " s.last_heartbeat_ms)";
      var copyManager = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
      try (PreparedStatement ps = c.prepareStatement(copy ? merge : upsert)) {
        long change = 0;
        long began = System.nanoTime();
        long end = began + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
          String[][] text = new String[batch][];
          java.util.Set<Long> seen = new java.util.HashSet<>();
          int n = 0;
          while (n < batch) {
            long k = (long) (r.nextDouble() * keys);
            if (!seen.add(k)) {
              continue; // one row per key per statement, as ON CONFLICT and MERGE require
            }
            long now = System.currentTimeMillis();
            change++;
            text[n++] =
                new String[] {
                  String.format("bench-%05d", k / o.agents()),
                  "agent-" + (k % o.agents()),
                  "bench",
                  "RUNNING",
                  "HEALTHY",
                  String.valueOf(1000 + k % o.agents()),
                  "0",
                  String.valueOf(change % 7),
                  "change " + change,
                  String.valueOf(now),
                  String.valueOf(now)
                };
          }
          if (copy) {
            StringBuilder tsv = new StringBuilder(batch * 96);
            for (String[] row : text) {
              tsv.append(String.join("\t", row)).append('\n');
            }
            copyManager.copyIn(
                "COPY bench_stage (" + RAW_COLUMNS + ") FROM STDIN",
                new java.io.StringReader(tsv.toString()));
            ps.executeUpdate();
          } else {
            String[] types = {
              "varchar", "varchar", "varchar", "varchar", "varchar", "bigint", "bigint", "bigint",
              "varchar", "bigint", "bigint"
            };
            for (int i = 0; i < types.length; i++) {
              Object[] column = new Object[batch];
              for (int j = 0; j < batch; j++) {
                column[j] =
                    types[i].equals("bigint") ? (Object) Long.valueOf(text[j][i]) : text[j][i];
              }
              Array arr = c.createArrayOf(types[i], column);
              ps.setArray(i + 1, arr);
            }
            ps.executeUpdate();
          }
          c.commit();
          rows += batch;
        }
        double secs = (System.nanoTime() - began) / 1e9;
        return Map.of(
            "rows",
            rows,
            "seconds",
            secs,
            "rows_per_s",
            rows / secs,
            "statement",
            (copy ? "COPY into a temporary table + MERGE, " : "UNNEST + INSERT ... ON CONFLICT, ")
                + batch
                + " rows per commit, synchronous_commit on");
      }
    }
  }

  // ---- manager process and database

  private void startManager(boolean tracing) throws Exception {
    if (port == 0) {
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
    }
    Path config = work.resolve("manager.yaml");
    Files.writeString(
        config,
        """
        server:
          host: 127.0.0.1
          port: %d
        data-dir: %s
        tls:
          insecure: %s
          dir: %s
        database:
          url: %s%s
          username: %s
          pool-size: 16
        link:
          ping-interval: 5s
          offline-grace: 30s
        operations:
          default-timeout: 10s
        """
                .formatted(
                    port,
                    work.resolve("data"),
                    !tlsNow,
                    work.resolve("tls"),
                    o.pgUrl(),
                    database,
                    o.pgUser())
            + cluster("bench-1", port));
    Path jar = o.root().resolve("manager/target/manager.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: build first (scripts/bench does)");
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new ArrayList<>(List.of(java, "-Xmx1g"));
    String extra = System.getenv().getOrDefault("OPS_BENCH_MANAGER_OPTS", "").strip();
    if (!extra.matches(".*-XX:\\+Use\\w+GC.*")) {
      command.add("-XX:+UseParallelGC"); // unless the options choose a collector
    }
    if (!extra.isEmpty()) {
      command.addAll(List.of(extra.split("\\s+")));
    }
    command.addAll(List.of("-jar", jar.toString(), "--config", config.toString()));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("OTEL_METRICS_EXPORTER", "none");
    if (tracing) {
      pb.environment().put("OTEL_TRACES_EXPORTER", "otlp");
      pb.environment().put("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
      pb.environment().put("OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint);
    } else {
      pb.environment().put("OTEL_TRACES_EXPORTER", "none");
      pb.environment().remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    }
    pb.redirectErrorStream(true).redirectOutput(work.resolve("manager.log").toFile());
    manager = pb.start();
    awaitHealthy(port, work.resolve("manager.log"));
  }

  /** Waits (at most 60 s) until the manager on {@code port} answers its HTTP health check. */
  private void awaitHealthy(int port, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        HttpClient client = http;
        if (tlsNow) {
          Path ca = work.resolve("tls").resolve("ca.crt");
          if (!Files.exists(ca)) {
            Thread.sleep(100);
            continue;
          }
          client =
              HttpClient.newBuilder()
                  .sslContext(
                      io.opsscaffold.security.TlsContexts.create(
                          Optional.<io.opsscaffold.security.CertificateAuthority.Issued>empty(),
                          io.opsscaffold.security.Pem.certificates(Files.readString(ca))))
                  .build();
        }
        HttpResponse<Void> r =
            client.send(
                HttpRequest.newBuilder(
                        URI.create(
                            (tlsNow ? "https" : "http") + "://127.0.0.1:" + port + "/health"))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the manager did not start; see " + log);
  }

  /** The etcd and cluster settings of a manager of the two-manager mode; empty otherwise. */
  private String cluster(String managerId, int managerPort) {
    if (etcd == null) {
      return "";
    }
    return """
        etcd:
          endpoints: [%s]
          insecure: true
        cluster:
          area: bench
          manager-id: %s
          advertise-url: %s://127.0.0.1:%d
        """
        .formatted(etcd.endpoint(), managerId, tlsNow ? "https" : "http", managerPort);
  }

  /**
   * The area's second manager: the first's configuration on its own port and data directory, a copy
   * of its CA, the same database and etcd.
   */
  private void startManager2() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      port2 = s.getLocalPort();
    }
    Path tls2 = Files.createDirectories(work.resolve("tls2"));
    if (tlsNow) {
      for (String f : List.of("ca.crt", "ca.key")) {
        Files.copy(
            work.resolve("tls").resolve(f),
            tls2.resolve(f),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    String first = Files.readString(work.resolve("manager.yaml"));
    Path config = work.resolve("manager2.yaml");
    Files.writeString(
        config,
        first
            .replace("port: " + port, "port: " + port2)
            .replace(work.resolve("data").toString(), work.resolve("data2").toString())
            .replace(work.resolve("tls").toString(), tls2.toString())
            .replace("manager-id: bench-1", "manager-id: bench-2")
            .replace("127.0.0.1:" + port + "\n", "127.0.0.1:" + port2 + "\n"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb =
        new ProcessBuilder(
            java,
            "-Xmx1g",
            "-XX:+UseParallelGC",
            "-jar",
            o.root().resolve("manager/target/manager.jar").toString(),
            "--config",
            config.toString());
    pb.environment().put("OTEL_METRICS_EXPORTER", "none");
    pb.environment().put("OTEL_TRACES_EXPORTER", "none");
    pb.redirectErrorStream(true).redirectOutput(work.resolve("manager2.log").toFile());
    manager2 = pb.start();
    awaitHealthy(port2, work.resolve("manager2.log"));
  }

  private final Map<Integer, ManagedChannel> apiChannels =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** An API channel to the manager on {@code port}, kept. */
  private ManagedChannel apiTo(int port) {
    return apiChannels.computeIfAbsent(port, p -> channel("api", null, p));
  }

  /**
   * Two managers: {@code OperateAgent} through the first manager at {@code --op-rate}, alternating
   * nodes whose stream it holds (direct) and nodes the second holds (relayed over mutual TLS);
   * p50/p99 of each.
   */
  private void relay() throws Exception {
    var stub = FleetServiceGrpc.newBlockingStub(apiTo(port)).withInterceptors(admin());
    List<Long> direct = new ArrayList<>();
    List<Long> relayed = new ArrayList<>();
    int failed = 0;
    long interval = TimeUnit.SECONDS.toNanos(1) / o.opRate();
    long measured = System.nanoTime() + TimeUnit.SECONDS.toNanos(o.warmUp());
    long end = measured + TimeUnit.SECONDS.toNanos(o.seconds());
    java.util.Random r = new java.util.Random(11);
    long next = System.nanoTime();
    for (long n = 0; next < end; n++) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      // Even daemons are on the first manager, odd ones on the second.
      int daemon = 2 * r.nextInt(Math.max(1, o.daemons() / 2)) + (int) (n % 2);
      long t0 = System.nanoTime();
      try {
        stub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .operateAgent(
                OperateAgentRequest.newBuilder()
                    .setNodeId(String.format("bench-%05d", daemon))
                    .setAgentId("agent-" + r.nextInt(o.agents()))
                    .setOperation("restart")
                    .build());
        if (t0 >= measured) {
          (daemon % 2 == 0 ? direct : relayed).add(System.nanoTime() - t0);
        }
      } catch (RuntimeException e) {
        if (t0 >= measured) {
          failed++;
        }
      }
      next += interval;
    }
    Collections.sort(direct);
    Collections.sort(relayed);
    results.put(
        "relay_round_trip",
        Map.of(
            "rate_per_s",
            o.opRate(),
            "failed",
            failed,
            "direct_calls",
            direct.size(),
            "direct_p50_ms",
            pct(direct, 50),
            "direct_p99_ms",
            pct(direct, 99),
            "relayed_calls",
            relayed.size(),
            "relayed_p50_ms",
            pct(relayed, 50),
            "relayed_p99_ms",
            pct(relayed, 99)));
  }

  /**
   * Two managers: {@code kill -9} of the second, holding half the fleet; its daemons move to the
   * first (as a real daemon goes to the next manager of its list after a failed attempt) and the
   * time is taken until every one of them is resynced there.
   */
  private void failover(List<SimDaemon> daemons) throws Exception {
    List<SimDaemon> moving = new ArrayList<>();
    for (int i = 1; i < daemons.size(); i += 2) {
      moving.add(daemons.get(i));
    }
    CountDownLatch synced = new CountDownLatch(moving.size());
    moving.forEach(d -> d.onSynced(synced::countDown));
    long killed = System.nanoTime();
    manager2.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    for (SimDaemon d : moving) {
      d.useChannel(channel(d.nodeId(), tlsNow ? d : null, port));
    }
    boolean all = synced.await(180, TimeUnit.SECONDS);
    long done = System.nanoTime();
    moving.forEach(d -> d.onSynced(() -> {}));
    results.put(
        "failover",
        Map.of(
            "daemons_moved",
            moving.size(),
            "all_converged",
            all,
            "not_converged",
            synced.getCount(),
            "seconds_kill_to_converged",
            (done - killed) / 1e9));
  }

  /**
   * Manager CPU time per row persisted: less noisy than rows/s when everything shares two cores.
   */
  private static double cpuMicrosPerRow(Map<String, Object> throughput) {
    return (double) throughput.get("manager_cpu_cores")
        * 1e6
        / (double) throughput.get("rows_per_s");
  }

  /** A graceful stop (SIGTERM), so that a flight recording (OPS_BENCH_MANAGER_OPTS) is written. */
  private void stopManager() throws InterruptedException {
    manager.destroy();
    if (!manager.waitFor(20, TimeUnit.SECONDS)) {
      manager.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /**
   * Bytes of live objects on the manager's heap: {@code jcmd GC.class_histogram} runs a full
   * collection first and ends with the total. The histogram is kept beside the JSON output as
   * {@code manager-heap-<when>.txt}, so that the per-stream cost can be read class by class.
   */
  private long liveHeapBytes(long pid, String when) throws IOException, InterruptedException {
    String out = jcmd(pid, "GC.class_histogram");
    Path dir = o.out().toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("manager-heap-" + when + ".txt"), out);
    if (System.getenv()
        .getOrDefault("OPS_BENCH_MANAGER_OPTS", "")
        .contains("NativeMemoryTracking")) {
      Files.writeString(
          dir.resolve("manager-nmt-" + when + ".txt"), jcmd(pid, "VM.native_memory", "summary"));
    }
    for (String line : out.split("\n")) {
      if (line.startsWith("Total")) {
        String[] f = line.trim().split("\\s+");
        return Long.parseLong(f[f.length - 1]);
      }
    }
    throw new IllegalStateException("jcmd GC.class_histogram gave no total: " + out);
  }

  /** What {@code jcmd <pid> <command...>} prints (the JDK running the benchmark). */
  private static String jcmd(long pid, String... command) throws IOException, InterruptedException {
    List<String> args =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid)));
    args.addAll(List.of(command));
    Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    p.waitFor();
    return out;
  }

  /** Rows inserted or updated in the agents table, as PostgreSQL counts them. */
  private long rowsWritten() throws SQLException {
    try (Connection c = DriverManager.getConnection(o.pgUrl() + database, o.pgUser(), "");
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE relname = 'agents'")) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  private void admin(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(o.pgUrl() + "postgres", o.pgUser(), "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  // ---- output

  private static double pct(List<Long> sortedNanos, int p) {
    if (sortedNanos.isEmpty()) {
      return Double.NaN;
    }
    int i = Math.min(sortedNanos.size() - 1, (int) Math.ceil(p / 100.0 * sortedNanos.size()) - 1);
    return sortedNanos.get(Math.max(0, i)) / 1e6;
  }

  private static double mib(long bytes) {
    return bytes / 1024.0 / 1024.0;
  }
}
