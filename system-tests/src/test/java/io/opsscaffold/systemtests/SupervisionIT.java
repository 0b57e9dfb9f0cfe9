package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.OperateAgentResponse;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Supervision with real misbehaving processes: shell scripts and the reference agent's faults. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SupervisionIT {
  private static final String STUBBORN = "stubborn";
  private Stack stack;
  private long started;

  @BeforeAll
  void start() throws Exception {
    String scripts =
        """
          - id: crasher
            type: script
            command: sh
            args: ["-c", "echo starting up; echo 'fatal: /etc/crasher.conf is missing' >&2; exit 3"]
            start-seconds: 200ms
            restart:
              policy: always
              initial-delay: 100ms
              multiplier: 2
              max-delay: 400ms
              crash-loop-after: 3
          - id: vanishing
            type: script
            command: ${dir}/vanishing.sh
            start-seconds: 100ms
            restart:
              initial-delay: 200ms
              max-delay: 200ms
        """;
    Path tmp = Files.createTempDirectory("ops-vanish-");
    stack =
        new Stack(
            List.of(STUBBORN),
            Map.of(STUBBORN, "faults:\n  ignore_sigterm: true\n  fork_children: 2\n"),
            scripts,
            Stack.env(Map.of()));
    Path script = stack.dir.resolve("vanishing.sh");
    Files.writeString(script, "#!/bin/sh\nsleep 0.5\nexit 1\n");
    script.toFile().setExecutable(true);
    Files.deleteIfExists(tmp);
    stack.startManager().startDaemon();
    started = System.nanoTime();
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  @Test
  void aScriptThatExitsAtOnceIsRestartedOnTheBackoffCurveAndReachesCrashLoop() {
    Agent looping =
        Await.until(
            Duration.ofSeconds(20),
            "crasher in CRASH_LOOP",
            () -> stack.agent("crasher"),
            a -> a.getLifecycle() == Lifecycle.LIFECYCLE_CRASH_LOOP);
    assertEquals(3, looping.getLastExitCode());
    assertTrue(
        looping.getLastLogLinesList().contains("fatal: /etc/crasher.conf is missing"),
        looping.getLastLogLinesList().toString());
    assertTrue(looping.getMessage().contains("crash loop"), looping.getMessage());
    assertEquals(1, looping.getAvailability(), "a crash-looping agent is OFF");

    // Watch it for a while: it keeps being retried, but no faster than the capped backoff allows.
    long watchFrom = System.nanoTime();
    int restartsFrom = looping.getRestartCount();
    Agent later =
        Await.until(
            Duration.ofSeconds(10),
            "two more restarts",
            () -> stack.agent("crasher"),
            a -> a.getRestartCount() >= restartsFrom + 2);
    double seconds = (System.nanoTime() - watchFrom) / 1e9;
    int restarts = later.getRestartCount() - restartsFrom;
    // Each cycle is at least 80 % of the 400 ms cap; allow one more for timing at the edges.
    assertTrue(
        restarts <= seconds / 0.32 + 1,
        restarts + " restarts in " + seconds + " s is faster than the cap");
    System.out.printf(
        "drill crasher: %d restarts in %.1f s at the capped interval (cap 400 ms)%n",
        restarts, seconds);

    // The manager turned it into one open alert, counted rather than duplicated.
    io.opsscaffold.api.fleet.v1.ListAlertsResponse alerts =
        Await.until(
            Duration.ofSeconds(10),
            "a CRASH_LOOP alert",
            () ->
                Stack.parse(
                    stack
                        .get("/api/v1/alerts?nodeId=" + Stack.NODE + "&state=open&kind=CRASH_LOOP")
                        .body(),
                    io.opsscaffold.api.fleet.v1.ListAlertsResponse.newBuilder()),
            r -> r.getAlertsList().stream().anyMatch(a -> a.getAgentId().equals("crasher")));
    assertEquals(
        1, alerts.getAlertsList().stream().filter(a -> a.getAgentId().equals("crasher")).count());
  }

  @Test
  void aStopKillsTheWholeProcessGroupRightAfterTheStopTimeout() throws Exception {
    Agent running =
        Await.until(
            Duration.ofSeconds(20),
            "stubborn RUNNING",
            () -> stack.agent(STUBBORN),
            a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING);
    long group = running.getPid();
    // Counted by their command line: the JVM may run other short-lived children while it starts.
    Await.until(
        Duration.ofSeconds(10),
        "its two SIGTERM-ignoring children",
        () ->
            groupMembers(group).stream()
                .filter(
                    pid ->
                        ProcessHandle.of(pid)
                            .flatMap(h -> h.info().arguments())
                            .map(args -> String.join(" ", args).contains("trap '' TERM"))
                            .orElse(false))
                .count(),
        n -> n == 2);
    long begun = System.nanoTime();
    HttpResponse<String> res =
        stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/" + STUBBORN + "/stop", "");
    long tookMs = (System.nanoTime() - begun) / 1_000_000;
    assertEquals(200, res.statusCode(), res.body());
    OperateAgentResponse stopped = Stack.parse(res.body(), OperateAgentResponse.newBuilder());
    assertEquals(Lifecycle.LIFECYCLE_STOPPED, stopped.getAgent().getLifecycle());
    assertEquals(137, stopped.getAgent().getLastExitCode(), "SIGKILL ended it");
    assertTrue(
        tookMs >= 1000 && tookMs < 4000,
        "killed right after the 1 s stop timeout, took " + tookMs + " ms");
    Await.until(
        Duration.ofSeconds(2),
        "no process of group " + group + " left",
        () -> groupMembers(group),
        List::isEmpty);
    System.out.printf(
        "drill stubborn-stop: an agent ignoring SIGTERM with 2 children stopped in %d ms"
            + " (stop timeout 1000 ms), group empty%n",
        tookMs);
    stack.assertManagerMatchesDaemon();
  }

  @Test
  void aBinaryThatCannotBeLaunchedIsFailedNotCrashed() throws Exception {
    Await.until(
        Duration.ofSeconds(20),
        "vanishing to have run once",
        () -> stack.agent("vanishing"),
        a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING || a.getRestartCount() > 0);
    Files.delete(stack.dir.resolve("vanishing.sh"));
    Agent failed =
        Await.until(
            Duration.ofSeconds(20),
            "vanishing FAILED",
            () -> stack.agent("vanishing"),
            a -> a.getLifecycle() == Lifecycle.LIFECYCLE_FAILED);
    assertTrue(failed.getMessage().startsWith("could not start:"), failed.getMessage());
    assertEquals(1, failed.getAvailability());
  }

  /** Live processes whose process group is {@code pgid}, read from /proc. */
  static List<Long> groupMembers(long pgid) {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs
          .filter(p -> p.getFileName().toString().matches("\\d+"))
          .filter(
              p -> {
                try {
                  String stat = Files.readString(p.resolve("stat"));
                  String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                  return !f[0].equals("Z") && Long.parseLong(f[2]) == pgid;
                } catch (IOException | RuntimeException e) {
                  return false;
                }
              })
          .map(p -> Long.parseLong(p.getFileName().toString()))
          .toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
