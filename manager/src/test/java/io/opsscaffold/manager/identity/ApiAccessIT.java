package io.opsscaffold.manager.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.Durations;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.opsscaffold.api.admin.v1.AdminServiceGrpc;
import io.opsscaffold.api.admin.v1.CreateApiTokenRequest;
import io.opsscaffold.api.admin.v1.EnrollmentServiceGrpc;
import io.opsscaffold.api.admin.v1.RevokeApiTokenRequest;
import io.opsscaffold.api.compat.controller.v1.ControllerServiceGrpc;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.gse.v1.GseServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.persistence.DatabaseSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.manager.tls.TlsPolicy;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.security.TlsContexts;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Who may call what, end to end over real TLS: every method of every service, over gRPC and over
 * each HTTP route, with no credential, a revoked and an expired token, and a token of each role.
 * The expected outcome of every cell comes from {@link ApiPermissions}, the one table the guard
 * enforces; a method served without an entry fails {@link #everyServedMethodHasExactlyOneRule}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiAccessIT {
  /** The credentials every method is tried with. */
  enum Credential {
    NONE,
    REVOKED,
    EXPIRED,
    VIEWER,
    OPERATOR,
    ADMIN
  }

  /** How a call ended, as far as access goes. */
  enum Outcome {
    UNAUTHENTICATED,
    DENIED,
    ALLOWED
  }

  private static final List<ServiceDescriptor> SERVED =
      List.of(
          FleetServiceGrpc.getServiceDescriptor(),
          GseServiceGrpc.getServiceDescriptor(),
          ControllerServiceGrpc.getServiceDescriptor(),
          AdminServiceGrpc.getServiceDescriptor(),
          EnrollmentServiceGrpc.getServiceDescriptor(),
          DaemonLinkServiceGrpc.getServiceDescriptor(),
          io.grpc.health.v1.HealthGrpc.getServiceDescriptor(),
          io.grpc.reflection.v1.ServerReflectionGrpc.getServiceDescriptor(),
          io.grpc.reflection.v1alpha.ServerReflectionGrpc.getServiceDescriptor());

  private Telemetry telemetry;
  private ManagerApp manager;
  private ManagedChannel channel;
  private HttpClient https;
  private final Map<Credential, String> tokens = new EnumMap<>(Credential.class);

  @BeforeAll
  void start() throws Exception {
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    DatabaseSettings db = TestDatabases.h2();
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                db,
                Duration.ofSeconds(5),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Optional.empty(),
                Duration.ofSeconds(1),
                Optional.empty(),
                TlsPolicy.auto(db.dataDir())),
            telemetry);
    var ca = manager.caCertificate().orElseThrow();
    channel =
        NettyChannelBuilder.forAddress("127.0.0.1", manager.port())
            .sslContext(GrpcSslContexts.forClient().trustManager(ca).build())
            .build();
    https =
        HttpClient.newBuilder()
            .sslContext(TlsContexts.create(Optional.empty(), List.of(ca)))
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    String admin = Files.readString(db.dataDir().resolve("admin.token")).strip();
    tokens.put(Credential.ADMIN, admin);
    var adminStub = AdminServiceGrpc.newBlockingStub(channel).withInterceptors(bearer(admin));
    tokens.put(Credential.VIEWER, create(adminStub, "viewer", Optional.empty()));
    tokens.put(Credential.OPERATOR, create(adminStub, "operator", Optional.empty()));
    tokens.put(Credential.EXPIRED, create(adminStub, "admin", Optional.of(Duration.ofMillis(1))));
    String revoked = create(adminStub, "admin", Optional.empty());
    adminStub.revokeApiToken(
        RevokeApiTokenRequest.newBuilder()
            .setTokenId(revoked.substring(0, revoked.indexOf('.')))
            .build());
    tokens.put(Credential.REVOKED, revoked);
  }

  private static String create(
      AdminServiceGrpc.AdminServiceBlockingStub admin, String role, Optional<Duration> ttl) {
    var req = CreateApiTokenRequest.newBuilder().setName("test " + role).setRole(role);
    ttl.ifPresent(t -> req.setTtl(Durations.fromMillis(t.toMillis())));
    return admin.createApiToken(req.build()).getSecret();
  }

  @AfterAll
  void stop() {
    channel.shutdownNow();
    manager.close();
    telemetry.close();
  }

  private static io.grpc.ClientInterceptor bearer(String token) {
    Metadata h = new Metadata();
    h.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return MetadataUtils.newAttachHeadersInterceptor(h);
  }

  static Outcome expected(String method, Credential c) {
    Optional<Role> needed = ApiPermissions.of(method).orElseThrow();
    if (c == Credential.REVOKED || c == Credential.EXPIRED) {
      return Outcome.UNAUTHENTICATED; // a bad token is refused whatever the call
    }
    if (needed.isEmpty()) {
      return Outcome.ALLOWED;
    }
    if (c == Credential.NONE) {
      return Outcome.UNAUTHENTICATED;
    }
    Role has = Role.valueOf(c.name());
    return has.allows(needed.get()) ? Outcome.ALLOWED : Outcome.DENIED;
  }

  @Test
  void everyServedMethodHasExactlyOneRule() {
    Set<String> served = new TreeSet<>();
    SERVED.forEach(s -> s.getMethods().forEach(m -> served.add(m.getFullMethodName())));
    // Served by managers on etcd only; it checks its callers' manager certificates itself
    // (ManagerCredentialsTest).
    io.opsscaffold.api.cluster.v1.PeerServiceGrpc.getServiceDescriptor()
        .getMethods()
        .forEach(m -> served.add(m.getFullMethodName()));
    assertEquals(
        served,
        new TreeSet<>(ApiPermissions.methods()),
        "ApiPermissions must list every served method, and nothing else");
  }

  @Test
  void everyMethodOverGrpcAnswersEachCredentialAsTheTableSays() throws Exception {
    List<String> wrong = new ArrayList<>();
    int cells = 0;
    for (ServiceDescriptor service : SERVED) {
      for (MethodDescriptor<?, ?> m : service.getMethods()) {
        for (Credential c : Credential.values()) {
          Outcome got = grpc(m, c);
          Outcome want = expected(m.getFullMethodName(), c);
          cells++;
          if (got != want) {
            wrong.add(m.getFullMethodName() + " with " + c + ": " + got + ", expected " + want);
          }
        }
      }
    }
    System.out.printf("gRPC access matrix: %d cells checked%n", cells);
    assertTrue(wrong.isEmpty(), String.join("\n", wrong));
  }

  @Test
  void everyHttpRouteAnswersEachCredentialAsTheTableSays() throws Exception {
    List<String> wrong = new ArrayList<>();
    List<String> routes = manager.routes();
    assertTrue(routes.size() > 40, routes.toString());
    for (String route : routes) {
      // "GET /api/v1/nodes/{node_id} -> opsscaffold.fleet.v1.FleetService/GetNode"
      String[] parts = route.split(" ");
      String path = parts[1].replaceAll("\\{[^}]+}", "x");
      String method = parts[3];
      for (Credential c : Credential.values()) {
        Outcome got = http(parts[0], path, c);
        Outcome want = expected(method, c);
        if (got != want) {
          wrong.add(route + " with " + c + ": " + got + ", expected " + want);
        }
      }
    }
    Outcome health = http("GET", "/health", Credential.NONE);
    assertEquals(Outcome.ALLOWED, health, "the HTTP health check is open");
    assertTrue(wrong.isEmpty(), String.join("\n", wrong));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private Outcome grpc(MethodDescriptor<?, ?> method, Credential c) throws Exception {
    MethodDescriptor<Object, Object> m = (MethodDescriptor) method;
    Object request =
        ((MethodDescriptor.PrototypeMarshaller<?>) m.getRequestMarshaller()).getMessagePrototype();
    Channel ch =
        c == Credential.NONE
            ? channel
            : ClientInterceptors.intercept(channel, bearer(tokens.get(c)));
    ClientCall<Object, Object> call =
        ch.newCall(m, CallOptions.DEFAULT.withDeadlineAfter(1500, TimeUnit.MILLISECONDS));
    CompletableFuture<Status> done = new CompletableFuture<>();
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onMessage(Object message) {
            done.complete(Status.OK);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            done.complete(status);
          }
        },
        new Metadata());
    call.request(1);
    call.sendMessage(request);
    call.halfClose();
    Status status = done.get(10, TimeUnit.SECONDS);
    call.cancel("checked", null);
    return switch (status.getCode()) {
      case UNAUTHENTICATED -> Outcome.UNAUTHENTICATED;
      case PERMISSION_DENIED ->
          status.getDescription() != null && status.getDescription().contains(" role; token ")
              ? Outcome.DENIED
              : Outcome.ALLOWED; // a refusal by the service itself (e.g. a node's certificate)
      default -> Outcome.ALLOWED;
    };
  }

  private Outcome http(String verb, String path, Credential c) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + manager.port() + path))
            .timeout(Duration.ofSeconds(5))
            .header("Content-Type", "application/json")
            .method(
                verb,
                verb.equals("GET") || verb.equals("DELETE")
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString("{}"));
    if (c != Credential.NONE) {
      b.header("Authorization", "Bearer " + tokens.get(c));
    }
    HttpResponse<InputStream> res =
        https.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    res.body().close();
    return switch (res.statusCode()) {
      case 401 -> Outcome.UNAUTHENTICATED;
      case 403 -> Outcome.DENIED;
      default -> Outcome.ALLOWED;
    };
  }
}
