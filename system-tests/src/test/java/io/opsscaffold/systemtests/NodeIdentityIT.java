package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.admin.v1.ListNodeCredentialsResponse;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real daemon's identity over mutual TLS: it enrolls once with a token and restarts without one,
 * renews its short-lived certificate over its stream without dropping it or touching agents, and
 * once revoked is cut off while its agents keep running.
 */
class NodeIdentityIT {
  private Stack stack;

  @AfterEach
  void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private Node node() {
    return Stack.parse(stack.get("/api/v1/nodes/" + Stack.NODE).body(), Node.newBuilder());
  }

  private Agent running(String id) {
    return Await.until(
        Duration.ofSeconds(30),
        id + " RUNNING",
        () -> stack.agent(id),
        a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING);
  }

  private HttpResponse<String> admin(String method, String path, String body) {
    return stack.send(
        HttpRequest.newBuilder(URI.create(stack.baseUrl() + path))
            .header("Authorization", "Bearer " + stack.adminToken())
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  private ListNodeCredentialsResponse credentials() {
    return Stack.parse(
        admin("GET", "/api/v1/node-credentials", "").body(),
        ListNodeCredentialsResponse.newBuilder());
  }

  @Test
  void aDaemonEnrollsOnceAndRestartsWithoutItsToken() throws Exception {
    stack = new Stack(List.of("a1"), Stack.env(Map.of()));
    stack.startManager().startDaemon();
    int pid = running("a1").getPid();
    Path pem = stack.dir.resolve("daemon-data").resolve("tls").resolve("node.pem");
    assertEquals(
        PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(pem),
        "the node's key is readable by the daemon's user only");
    assertEquals(Stack.NODE, credentials().getNodes(0).getNodeId());

    // The token is spent (one use) and leaves the configuration: the restart needs neither.
    assertEquals(0, stack.daemon.stop());
    Path config = stack.dir.resolve("daemon.yaml");
    Files.writeString(
        config, Files.readString(config).replaceAll("(?m)^  enrollment-token: .*\\n", ""));
    long before = com.google.protobuf.util.Timestamps.toMillis(node().getConnectedSince());
    stack.startDaemon();
    Await.until(
        Duration.ofSeconds(30),
        "the restarted daemon connected with its certificate",
        this::node,
        n ->
            n.hasConnectedSince()
                && com.google.protobuf.util.Timestamps.toMillis(n.getConnectedSince()) > before);
    assertTrue(running("a1").getPid() != pid, "a clean stop stopped the agent; it runs again");
    assertTrue(
        Files.readString(stack.daemon.log()).contains("connected to manager"),
        "the daemon's log says it connected");
  }

  @Test
  void aShortLivedCertificateIsRenewedWithoutDroppingTheStreamOrTouchingAgents() throws Exception {
    stack = new Stack(List.of("a1"), Stack.env(Map.of("TLS_NODE__CERT__VALIDITY", "12s")));
    stack.startManager().startDaemon();
    Agent first = running("a1");
    long connected = com.google.protobuf.util.Timestamps.toMillis(node().getConnectedSince());
    Set<String> serials = new HashSet<>();
    Await.until(
        Duration.ofSeconds(60),
        "three certificates in turn (two renewals)",
        () -> {
          serials.add(credentials().getNodes(0).getSerial());
          return serials.size();
        },
        n -> n >= 3);
    Agent now = stack.agent("a1");
    assertEquals(first.getPid(), now.getPid(), "the agent was not restarted");
    assertEquals(0, now.getRestartCount());
    assertEquals(
        connected,
        com.google.protobuf.util.Timestamps.toMillis(node().getConnectedSince()),
        "the stream was never dropped");
    String log = Files.readString(stack.daemon.log());
    assertTrue(log.contains("certificate is renewed"), "the daemon logged its renewals");
    System.out.printf("node certificate renewed %d times over one stream%n", serials.size() - 1);
  }

  @Test
  void aRevokedDaemonIsCutOffAndItsAgentsKeepRunning() throws Exception {
    stack = new Stack(List.of("a1", "a2"), Stack.env(Map.of()));
    stack.startManager().startDaemon();
    int p1 = running("a1").getPid();
    int p2 = running("a2").getPid();
    HttpResponse<String> revoked =
        admin("POST", "/api/v1/nodes/" + Stack.NODE + "/revoke", "{\"reason\":\"decommissioned\"}");
    assertEquals(200, revoked.statusCode(), revoked.body());
    Await.until(
        Duration.ofSeconds(10),
        "the node gone from the fleet",
        () -> stack.get("/api/v1/nodes/" + Stack.NODE).statusCode(),
        code -> code == 404);
    Await.until(
        Duration.ofSeconds(15),
        "the daemon to be told it is revoked",
        () -> {
          try {
            return Files.readString(stack.daemon.log());
          } catch (java.io.IOException e) {
            return "";
          }
        },
        log -> log.contains("PERMISSION_DENIED") && log.contains("revoked"));
    assertTrue(ProcessHandle.of(p1).map(ProcessHandle::isAlive).orElse(false), "a1 keeps running");
    assertTrue(ProcessHandle.of(p2).map(ProcessHandle::isAlive).orElse(false), "a2 keeps running");
    assertTrue(stack.daemon.alive(), "the daemon keeps supervising");
    io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse fleet =
        Stack.parse(
            stack.get("/api/v1/agents").body(),
            io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse.newBuilder());
    assertEquals(0, fleet.getTotal(), "its agents left the fleet's listings");
  }
}
