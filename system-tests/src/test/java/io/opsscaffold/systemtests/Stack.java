package io.opsscaffold.systemtests;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.opsscaffold.api.fleet.v1.ListAgentsResponse;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.security.CertificateAuthority;
import io.opsscaffold.security.TlsContexts;
import io.opsscaffold.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A whole local fleet from the packaged jars: a manager on a fresh PostgreSQL database and one
 * daemon supervising reference agents, each a real process, with its configs and logs in a temp
 * dir.
 */
final class Stack implements AutoCloseable {
  static final String NODE = "node-it";

  final Path dir;
  final int managerPort;
  final int daemonPort;
  final List<String> agentIds;
  final TestDatabases.Created database;
  final Map<String, String> env;

  /**
   * The manager's CA, made before the manager starts (which then keeps it) so daemons can pin it.
   */
  final CertificateAuthority ca;

  final HttpClient http;
  AppProcess manager;
  AppProcess daemon;

  /** The area's second manager, after {@link #twoManagers}. */
  AppProcess manager2;

  int manager2Port;
  // Where API calls go: the first manager unless callManagerOn said otherwise.
  private volatile int apiPort;
  private final Map<String, String> agentFaults;
  private final Map<String, String> agentSpecs;
  private final String extraAgents;

  Stack(List<String> agentIds, Map<String, String> env) throws IOException {
    this(agentIds, Map.of(), "", env);
  }

  /**
   * @param agentFaults extra agent.yaml text per reference agent (e.g. a {@code faults:} section)
   * @param extraAgents more entries for the daemon's {@code agents:} list (e.g. shell scripts),
   *     indented as list items; {@code ${dir}} stands for the stack's directory
   */
  Stack(
      List<String> agentIds,
      Map<String, String> agentFaults,
      String extraAgents,
      Map<String, String> env)
      throws IOException {
    this(agentIds, agentFaults, Map.of(), extraAgents, env);
  }

  /**
   * @param agentSpecs extra daemon.yaml keys per reference agent (e.g. a {@code health:} section)
   */
  Stack(
      List<String> agentIds,
      Map<String, String> agentFaults,
      Map<String, String> agentSpecs,
      String extraAgents,
      Map<String, String> env)
      throws IOException {
    this.dir = Files.createTempDirectory("ops-it-");
    this.ca =
        CertificateAuthority.loadOrCreate(dir.resolve("manager-tls"), java.time.Clock.systemUTC());
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(TlsContexts.create(Optional.empty(), List.of(ca.certificate())))
            .build();
    this.agentFaults = agentFaults;
    this.agentSpecs = agentSpecs;
    this.extraAgents = extraAgents;
    this.managerPort = freePort();
    this.apiPort = managerPort;
    this.daemonPort = freePort();
    this.agentIds = agentIds;
    this.env = env;
    this.database = TestDatabases.postgres();
    writeConfigs();
  }

  static Path root() {
    return Path.of(System.getProperty("ops.root", "..")).toAbsolutePath().normalize();
  }

  static Path jar(String app) {
    Path jar = root().resolve(app).resolve("target").resolve(app + ".jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          jar + " is missing: run the tests with 'mvn verify' from the root");
    }
    return jar;
  }

  private void writeConfigs() throws IOException {
    Files.writeString(
        dir.resolve("manager.yaml"),
        """
        server:
          port: %d
        database:
          url: %s
          username: %s
        link:
          ping-interval: 500ms
          offline-grace: 2s
        operations:
          default-timeout: 20s
        tls:
          dir: %s
        data-dir: %s
        """
            .formatted(
                managerPort,
                database.url(),
                database.user(),
                dir.resolve("manager-tls"),
                dir.resolve("manager-data")));
    StringBuilder daemon =
        new StringBuilder(
            """
        node:
          id: %s
          labels:
            area: it-area
            zone: it-zone
            cloud-id: 0
            business: it
        manager:
          address: 127.0.0.1:%d
          reconnect-initial: 100ms
          reconnect-max: 1s
          ping-interval: 500ms
          stats-interval: 1s
          tls:
            ca-fingerprint: %s
        server:
          port: %d
          # The tests call the local API over TCP with its token (Java's HTTP client has no Unix
          # sockets); DaemonApiIT also calls it over its Unix socket, the default way in.
          local-api-tcp: true
        data-dir: %s
        monitor:
          interval: 500ms
        agents:
        """
                .formatted(
                    NODE, managerPort, ca.fingerprint(), daemonPort, dir.resolve("daemon-data")));
    for (int i = 0; i < agentIds.size(); i++) {
      String id = agentIds.get(i);
      // Odd agents heartbeat over the daemon's Unix socket, even ones over HTTP: both transports
      // run.
      String transport =
          i % 2 == 1
              ? "daemon_socket: " + dir.resolve("daemon-data").resolve("daemon.sock")
              : "daemon_url: http://127.0.0.1:" + daemonPort;
      Files.createDirectories(configFile(id).getParent());
      Files.writeString(
          configFile(id),
          """
          agent_id: %s
          heartbeat_interval: 1s
          %s
          state_file: %s
          """
                  .formatted(id, transport, dir.resolve(id + ".state.json"))
              + agentFaults.getOrDefault(id, "")
              + (agentFaults.getOrDefault(id, "").contains("http_port") ? "" : "http_port: 0\n"));
      daemon.append(
          """
            - id: %s
              type: reference-agent
              command: %s
              args: [-Xmx32m, -XX:+UseSerialGC, -XX:TieredStopAtLevel=1, -jar, %s, --config, %s]
              heartbeat-timeout: 5s
              restart:
                policy: always
                initial-delay: 500ms
              stop-timeout: %s
              remote-config: true
              config-dir: %s
          """
                  .formatted(
                      id,
                      AppProcess.javaBinary(),
                      jar("agent"),
                      configFile(id),
                      agentFaults.containsKey(id) ? "1s" : "5s",
                      configFile(id).getParent())
              + agentSpecs.getOrDefault(id, "").indent(4));
    }
    daemon.append(extraAgents.replace("${dir}", dir.toString()));
    Files.writeString(dir.resolve("daemon.yaml"), daemon.toString());
  }

  Stack startManager() {
    manager =
        new AppProcess("manager", jar("manager"), dir.resolve("manager.yaml"), env, dir).start();
    Await.until(
        Duration.ofSeconds(30),
        "the manager to answer HTTP",
        () -> get("/health").statusCode(),
        code -> code == 200);
    return this;
  }

  /** The bootstrap admin token the manager wrote on its first start. */
  String adminToken() {
    try {
      return Files.readString(dir.resolve("manager-data").resolve("admin.token")).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("the manager has not written its admin token", e);
    }
  }

  /**
   * Starts the daemon; on its first start it is given an enrollment token (one use, carrying the
   * CA's fingerprint) created through the admin API, as an operator would.
   */
  Stack startDaemon() {
    if (!Files.exists(dir.resolve("daemon-data").resolve("tls").resolve("node.pem"))) {
      String join = enrollmentToken(1);
      try {
        Path config = dir.resolve("daemon.yaml");
        Files.writeString(
            config,
            Files.readString(config)
                .replaceAll("(?m)^  enrollment-token: .*\n", "")
                .replace("manager:\n", "manager:\n  enrollment-token: " + join + "\n"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    daemon = new AppProcess("daemon", jar("daemon"), dir.resolve("daemon.yaml"), env, dir).start();
    return this;
  }

  /**
   * A join token for {@code maxUses} daemons, created through the admin API as an operator would
   * (it carries the CA's fingerprint).
   */
  String enrollmentToken(int maxUses) {
    HttpResponse<String> created =
        send(
            HttpRequest.newBuilder(uri("/api/v1/enrollment-tokens"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + adminToken())
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"description\":\"system test\",\"maxUses\":" + maxUses + "}"))
                .build());
    if (created.statusCode() != 200) {
      throw new IllegalStateException(
          "creating an enrollment token answered " + created.statusCode() + ": " + created.body());
    }
    return Stack.<io.opsscaffold.api.admin.v1.CreateEnrollmentTokenResponse>parse(
            created.body(), io.opsscaffold.api.admin.v1.CreateEnrollmentTokenResponse.newBuilder())
        .getJoinToken();
  }

  /** A reference agent's configuration file, in its config-dir {@code <id>.d}. */
  Path configFile(String agentId) {
    return dir.resolve(agentId + ".d").resolve("agent.yaml");
  }

  /** The agent process currently running with {@code agentId}'s config, found by command line. */
  Optional<ProcessHandle> agentProcess(String agentId) {
    String marker = configFile(agentId).toString();
    return ProcessHandle.allProcesses()
        .filter(
            p -> p.isAlive() && p.info().commandLine().map(c -> c.contains(marker)).orElse(false))
        .findFirst();
  }

  /** GET on the manager with the admin token. */
  HttpResponse<String> get(String path) {
    return send(authorized(HttpRequest.newBuilder(uri(path))).GET().build());
  }

  /** {@code b} with the admin token once the manager has written it. */
  HttpRequest.Builder authorized(HttpRequest.Builder b) {
    if (Files.exists(dir.resolve("manager-data").resolve("admin.token"))) {
      b.header("Authorization", "Bearer " + adminToken());
    }
    return b;
  }

  /** One agent as the manager lists it. */
  io.opsscaffold.api.fleet.v1.Agent agent(String id) {
    return agents().getAgentsList().stream()
        .filter(a -> a.getAgentId().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException(id + " is not listed (yet)"));
  }

  /** POST on the manager with the admin token. */
  HttpResponse<String> post(String path, String body) {
    return send(
        authorized(HttpRequest.newBuilder(uri(path)))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  /** The daemon's local API token, which it keeps in its data directory. */
  String daemonToken() {
    try {
      return Files.readString(dir.resolve("daemon-data").resolve("local-api.token")).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("the daemon has not written its local API token", e);
    }
  }

  HttpResponse<String> getDaemon(String path) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemonPort + path))
            .header("Authorization", "Bearer " + daemonToken())
            .GET()
            .build());
  }

  HttpResponse<String> postDaemon(String path, String body) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemonPort + path))
            .header("Authorization", "Bearer " + daemonToken())
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  /** A gRPC channel to the manager over TLS, trusting its CA, sending the admin token. */
  io.grpc.ManagedChannel managerChannel() {
    io.grpc.Metadata auth = new io.grpc.Metadata();
    auth.put(
        io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + adminToken());
    try {
      return io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", apiPort)
          .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(auth))
          .sslContext(
              io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forClient()
                  .trustManager(ca.certificate())
                  .build())
          .build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The manager's base URL, {@code https://127.0.0.1:<port>}. */
  String baseUrl() {
    return "https://127.0.0.1:" + apiPort;
  }

  /** API calls (HTTP and gRPC) go to the manager on {@code port} from now on. */
  void callManagerOn(int port) {
    apiPort = port;
  }

  /**
   * Makes this stack's area two managers on one database and on {@code etcd}: the first as
   * configured ({@code m-a}), a second ({@code m-b}) on its own port and data directory with a copy
   * of the same CA (as an operator deploys one), and the daemon given both addresses. Call before
   * anything starts.
   */
  Stack twoManagers(String etcd) throws IOException {
    manager2Port = freePort();
    String cluster =
        """
        etcd:
          endpoints: [%s]
          insecure: true
          lease-ttl: 3s
        cluster:
          area: it-area
          manager-id: %s
          advertise-url: https://127.0.0.1:%d
          refresh-interval: 1s
        """;
    Path first = dir.resolve("manager.yaml");
    String base = Files.readString(first);
    Files.writeString(first, base + cluster.formatted(etcd, "m-a", managerPort));
    Files.writeString(
        dir.resolve("manager2.yaml"),
        base.replace("port: " + managerPort, "port: " + manager2Port)
                .replace(
                    dir.resolve("manager-tls").toString(), dir.resolve("manager2-tls").toString())
                .replace(
                    dir.resolve("manager-data").toString(), dir.resolve("manager2-data").toString())
            + cluster.formatted(etcd, "m-b", manager2Port));
    Path tls2 = Files.createDirectories(dir.resolve("manager2-tls"));
    for (String f : List.of("ca.crt", "ca.key")) {
      Files.copy(dir.resolve("manager-tls").resolve(f), tls2.resolve(f));
    }
    Path daemonYaml = dir.resolve("daemon.yaml");
    Files.writeString(
        daemonYaml,
        Files.readString(daemonYaml)
            .replace(
                "address: 127.0.0.1:" + managerPort,
                "address: [127.0.0.1:" + managerPort + ", 127.0.0.1:" + manager2Port + "]"));
    return this;
  }

  /** Starts the second manager (see {@link #twoManagers}) and waits until it answers. */
  Stack startManager2() {
    manager2 =
        new AppProcess("manager2", jar("manager"), dir.resolve("manager2.yaml"), env, dir).start();
    int before = apiPort;
    callManagerOn(manager2Port);
    try {
      Await.until(
          Duration.ofSeconds(30),
          "the second manager to answer HTTP",
          () -> get("/health").statusCode(),
          code -> code == 200);
    } finally {
      callManagerOn(before);
    }
    return this;
  }

  private URI uri(String path) {
    return URI.create(baseUrl() + path);
  }

  HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  ListAgentsResponse agents() {
    HttpResponse<String> res = get("/api/v1/nodes/" + NODE + "/agents");
    if (res.statusCode() != 200) {
      throw new IllegalStateException(
          "GET agents answered " + res.statusCode() + ": " + res.body());
    }
    return parse(res.body(), ListAgentsResponse.newBuilder());
  }

  /**
   * The drills' last invariant: the manager's rows for this node are what its daemon itself says
   * (each agent's lifecycle, pid and restart count), once the deltas in flight have landed.
   */
  void assertManagerMatchesDaemon() {
    java.util.function.Supplier<java.util.List<String>> daemonView =
        () ->
            Stack.<io.opsscaffold.api.daemon.v1.ListLocalAgentsResponse>parse(
                    getDaemon("/api/v1/local/agents").body(),
                    io.opsscaffold.api.daemon.v1.ListLocalAgentsResponse.newBuilder())
                .getAgentsList()
                .stream()
                .map(a -> a.getState())
                .map(a -> row(a.getAgentId(), a.getLifecycle(), a.getPid(), a.getRestartCount()))
                .sorted()
                .toList();
    java.util.function.Supplier<java.util.List<String>> managerView =
        () ->
            agents().getAgentsList().stream()
                .map(a -> row(a.getAgentId(), a.getLifecycle(), a.getPid(), a.getRestartCount()))
                .sorted()
                .toList();
    java.util.List<String> daemonSaid = daemonView.get();
    Await.until(
        Duration.ofSeconds(15),
        "the manager's rows to equal the daemon's own view " + daemonSaid,
        () -> java.util.List.of(daemonView.get(), managerView.get()),
        views -> views.get(0).equals(views.get(1)));
    System.out.println("drill end state: manager rows equal the daemon's view " + daemonSaid);
  }

  private static String row(
      String agent, io.opsscaffold.api.status.v1.Lifecycle lifecycle, int pid, int restarts) {
    return agent + " " + lifecycle + " pid " + pid + " restarts " + restarts;
  }

  /** This stack's node as the manager shows it. */
  io.opsscaffold.api.fleet.v1.Node node() {
    return parse(
        get("/api/v1/nodes/" + NODE).body(), io.opsscaffold.api.fleet.v1.Node.newBuilder());
  }

  /** The manager's alerts (the first page, newest first). */
  io.opsscaffold.api.fleet.v1.ListAlertsResponse alerts() {
    return parse(
        get("/api/v1/alerts").body(), io.opsscaffold.api.fleet.v1.ListAlertsResponse.newBuilder());
  }

  /** Whether all {@code n} agents of the node read ON. */
  boolean allOn(int n) {
    return agents().getAgentsList().stream()
            .filter(a -> a.getAvailabilityName().equals("ON"))
            .count()
        == n;
  }

  static <T extends Message> T parse(String json, Message.Builder builder) {
    try {
      JsonFormat.parser().merge(json, builder);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    @SuppressWarnings("unchecked")
    T built = (T) builder.build();
    return built;
  }

  /**
   * Ports {@link #freePort} handed out: none twice, since a port handed out may not be bound yet.
   */
  private static final java.util.Set<Integer> GIVEN_PORTS =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * A port free now, below Linux's ephemeral range (32768 and up): a port the kernel hands out for
   * port 0 can be taken, before the process meant for it binds it, as the local end of any outgoing
   * connection (a database pool's, a gRPC channel's), which made an agent fail to bind for good.
   */
  static int freePort() throws IOException {
    java.util.concurrent.ThreadLocalRandom random =
        java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = random.nextInt(20_000, 32_000);
      if (!GIVEN_PORTS.add(port)) {
        continue; // handed out already, perhaps not bound yet by the process it was meant for
      }
      try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
        s.setReuseAddress(true);
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port found between 20000 and 32000");
  }

  static Map<String, String> env(Map<String, String> extra) {
    Map<String, String> env = new HashMap<>(extra);
    env.putIfAbsent("OTEL_TRACES_EXPORTER", "none");
    return env;
  }

  @Override
  public void close() {
    List<AutoCloseable> all = new ArrayList<>();
    if (daemon != null) {
      daemon.stop();
    }
    if (manager != null) {
      manager.stop();
    }
    if (manager2 != null) {
      manager2.stop();
    }
    for (String id : agentIds) {
      agentProcess(id).ifPresent(ProcessHandle::destroyForcibly);
    }
    all.forEach(
        a -> {
          try {
            a.close();
          } catch (Exception e) {
            // best effort
          }
        });
    database.close();
  }
}
