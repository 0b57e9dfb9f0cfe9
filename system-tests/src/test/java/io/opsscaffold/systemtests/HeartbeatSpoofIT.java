package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.status.v1.Health;
import io.opsscaffold.testing.Await;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Heartbeats count only from the agent itself (issue #17): two agents are frozen (SIGSTOP), one
 * heartbeating over HTTP and one over the Unix socket, while strangers keep sending heartbeats that
 * name each agent and its pid: this JVM (the same user, outside the agents' process groups) over
 * both transports, and a process of another user ({@code nobody}) over both. The daemon answers
 * them with a warning, counts none of them, and restarts both agents for NO_HEARTBEAT as it would
 * without them.
 */
class HeartbeatSpoofIT {
  private static final String HTTP_AGENT = "victim0"; // even: HTTP
  private static final String SOCKET_AGENT = "victim1"; // odd: the Unix socket
  private Stack stack;
  private final List<Process> strangers = new ArrayList<>();
  private final AtomicBoolean spoofing = new AtomicBoolean(true);

  @BeforeEach
  void start() throws Exception {
    stack = new Stack(List.of(HTTP_AGENT, SOCKET_AGENT), Stack.env(Map.of()));
    stack.startManager().startDaemon();
  }

  @AfterEach
  void stop() {
    spoofing.set(false);
    strangers.forEach(Process::destroyForcibly);
    stack.close();
  }

  private static String body(String agent, long pid) {
    return "{\"agent_id\":\""
        + agent
        + "\",\"pid\":"
        + pid
        + ",\"status\":\"running\",\"timestamp\":\""
        + Instant.now()
        + "\",\"progress\":"
        + System.nanoTime()
        + "}";
  }

  private Agent healthy(String id) {
    return Await.until(
        Duration.ofSeconds(30),
        id + " to run and heartbeat",
        () -> stack.agent(id),
        a -> a.getPid() > 0 && a.getHealth() == Health.HEALTH_HEALTHY && a.hasLastHeartbeat());
  }

  @Test
  void heartbeatsFromOtherProcessesDoNotKeepAFrozenAgentAlive() throws Exception {
    Agent overHttp = healthy(HTTP_AGENT);
    Agent overSocket = healthy(SOCKET_AGENT);
    Path socket = stack.dir.resolve("daemon-data").resolve("daemon.sock");
    // Let another user reach the socket: the test's directories are private by default, and the
    // point here is what the daemon does with what arrives, not that the path is out of reach.
    for (Path p : List.of(stack.dir, stack.dir.resolve("daemon-data"))) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx--x--x"));
    }
    Map<String, String> warnings = new ConcurrentHashMap<>();

    // This JVM: the same user as the agents, outside their groups, over both transports.
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              while (spoofing.get()) {
                for (Agent a : List.of(overHttp, overSocket)) {
                  HttpResponse<String> r =
                      stack.send(
                          HttpRequest.newBuilder(
                                  URI.create("http://127.0.0.1:" + stack.daemonPort + "/heartbeat"))
                              .POST(
                                  HttpRequest.BodyPublishers.ofString(
                                      body(a.getAgentId(), a.getPid())))
                              .build());
                  if (r.statusCode() == 200 && r.body().contains("recorded as unverified")) {
                    warnings.put("same user, HTTP", r.body());
                  }
                }
                pause();
              }
            });
    Thread.ofPlatform()
        .daemon()
        .start(
            () -> {
              try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                OutputStream out = Channels.newOutputStream(c);
                BufferedReader in =
                    new BufferedReader(
                        new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
                while (spoofing.get()) {
                  for (Agent a : List.of(overHttp, overSocket)) {
                    out.write(
                        ("{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"id\":1,\"params\":"
                                + body(a.getAgentId(), a.getPid())
                                + "}\n")
                            .getBytes(StandardCharsets.UTF_8));
                    String answer = in.readLine();
                    if (answer.contains("recorded as unverified")) {
                      warnings.put("same user, socket", answer);
                    }
                  }
                  pause();
                }
              } catch (Exception e) {
                warnings.put("same user, socket failed", e.toString());
              }
            });
    // Another user: nobody, with curl over HTTP and socat over the socket.
    Path out = stack.dir.resolve("strangers.out");
    Files.writeString(out, "");
    Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-rw-rw-"));
    String loop =
        "while :; do "
            + "curl -s -X POST -d \"{\\\"agent_id\\\":\\\"%s\\\",\\\"pid\\\":%d,\\\"status\\\":\\\"running\\\",\\\"timestamp\\\":\\\"$(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)\\\"}\" http://127.0.0.1:%d/heartbeat >> %s; echo >> %s; "
            + "echo \"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"method\\\":\\\"heartbeat\\\",\\\"id\\\":2,\\\"params\\\":{\\\"agent_id\\\":\\\"%s\\\",\\\"pid\\\":%d,\\\"status\\\":\\\"running\\\",\\\"timestamp\\\":\\\"$(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)\\\"}}\" | socat -t 1 - UNIX-CONNECT:%s >> %s; "
            + "sleep 0.2; done";
    strangers.add(
        new ProcessBuilder(
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                "sh",
                "-c",
                loop.formatted(
                    HTTP_AGENT,
                    overHttp.getPid(),
                    stack.daemonPort,
                    out,
                    out,
                    SOCKET_AGENT,
                    overSocket.getPid(),
                    socket,
                    out))
            .redirectErrorStream(true)
            .redirectOutput(stack.dir.resolve("strangers.log").toFile())
            .start());

    Await.until(
        Duration.ofSeconds(20),
        "this JVM's heartbeats to be answered with a warning over both transports",
        () -> Map.copyOf(warnings),
        w -> w.containsKey("same user, HTTP") && w.containsKey("same user, socket"));
    Await.until(
        Duration.ofSeconds(20),
        "the other user's heartbeats to be answered over both transports",
        () -> {
          try {
            return Files.readString(out);
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        },
        s ->
            s.contains(
                    "\"message\":\"heartbeat received\",\"warning\":\"this heartbeat was not sent by agent '"
                        + HTTP_AGENT)
                && s.contains(
                    "\"result\":{\"message\":\"heartbeat received\",\"warning\":\"this heartbeat was not sent by agent '"
                        + SOCKET_AGENT));
    assertTrue(
        !warnings.containsKey("same user, socket failed"),
        warnings.get("same user, socket failed"));

    signal("STOP", overHttp.getPid());
    signal("STOP", overSocket.getPid());
    for (Agent frozen : List.of(overHttp, overSocket)) {
      Agent restarted =
          Await.until(
              Duration.ofSeconds(40),
              frozen.getAgentId() + " to be restarted for NO_HEARTBEAT despite the strangers",
              () -> stack.agent(frozen.getAgentId()),
              a -> a.getRestartCount() > frozen.getRestartCount() && a.getPid() > 0);
      assertTrue(
          restarted.getLastRestartReason().startsWith("NO_HEARTBEAT: no heartbeat for"),
          restarted.getLastRestartReason());
      assertNotEquals(frozen.getPid(), restarted.getPid());
    }
  }

  private static void pause() {
    try {
      Thread.sleep(200); // a stranger's sending rhythm, not a wait on the daemon
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void signal(String sig, long pid) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
    assertEquals(0, p.waitFor(), "kill -" + sig + " " + pid);
  }
}
