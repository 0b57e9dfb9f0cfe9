package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.Await;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * opsctl's batches over more than ten agents and with a failing one: the confirmation prompt on a
 * terminal (and its refusal when there is nobody to ask), {@code --yes}, and a partial failure's
 * table and exit code 6. The fleet: one reference agent, ten sleepers, and "flaky", a script whose
 * file stops being executable before the batch, so its restart cannot start it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpsctlBatchIT {
  private Stack stack;
  private OpsctlRunner opsctl;
  private Path flaky;

  @BeforeAll
  void start() throws Exception {
    StringBuilder extra = new StringBuilder();
    for (int i = 1; i <= 10; i++) {
      extra.append(
          """
            - id: sleeper%d
              type: script
              command: sleep
              args: ["3600"]
              start-seconds: 100ms
              stop-timeout: 1s
          """
              .formatted(i));
    }
    extra.append(
        """
          - id: flaky
            type: script
            command: ${dir}/flaky.sh
            start-seconds: 100ms
            stop-timeout: 1s
            restart:
              policy: never
        """);
    stack = new Stack(List.of("a1"), Map.of(), extra.toString(), Stack.env(Map.of()));
    flaky = stack.dir.resolve("flaky.sh");
    java.nio.file.Files.writeString(flaky, "#!/bin/sh\nexec sleep 3600\n");
    java.nio.file.Files.setPosixFilePermissions(
        flaky, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    stack.startManager().startDaemon();
    Await.until(
        Duration.ofSeconds(30),
        "twelve agents ON",
        () -> stack.agents().getAgentsList(),
        agents ->
            agents.size() == 12
                && agents.stream().allMatch(a -> a.getAvailabilityName().equals("ON")));
    Path config = stack.dir.resolve("opsctl").resolve("config");
    opsctl = new OpsctlRunner(config);
    OpsctlRunner.Run login =
        opsctl.run(
            Map.of(),
            "login",
            "127.0.0.1:" + stack.managerPort,
            "--token-file",
            stack.dir.resolve("manager-data").resolve("admin.token").toString(),
            "--ca",
            stack.dir.resolve("manager-tls").resolve("ca.crt").toString());
    assertEquals(0, login.exit(), login.err());
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  @Test
  void moreThanTenAgentsNeedAYesAndAFailureEndsInItsTableAndExitCodeSix() throws Exception {
    String sleepers = "node=node-it,type=script";
    OpsctlRunner.Run unasked = opsctl.run(Map.of(), "restart", "-s", sleepers);
    assertEquals(2, unasked.exit(), unasked.out() + unasked.err());
    assertTrue(
        unasked.err().contains("restart of 11 agents not confirmed (run with --yes"),
        unasked.err());

    OpsctlRunner.Run declined = opsctl.onTerminal("n\n", "restart", "-s", sleepers);
    assertTrue(declined.out().contains("restart 11 agents? [y/N]"), declined.out());
    assertEquals(2, declined.exit(), declined.out());
    assertEquals(
        0,
        stack.agents().getAgentsList().stream().mapToLong(a -> a.getRestartCount()).sum(),
        "nothing was restarted");

    // flaky's executable goes away: its restart cannot start it again.
    java.nio.file.Files.setPosixFilePermissions(
        flaky, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    OpsctlRunner.Run accepted =
        opsctl.onTerminal("y\n", "restart", "-s", sleepers, "--concurrency", "4");
    assertEquals(6, accepted.exit(), accepted.out());
    assertTrue(accepted.out().contains("restart: 10 ok, 1 failed of 11"), accepted.out());
    assertTrue(
        accepted.out().lines().anyMatch(l -> l.startsWith("node-it") && l.contains("flaky")),
        "the failure table names it: " + accepted.out());
    assertTrue(accepted.out().contains("1 of 11 agents could not be restarted"), accepted.out());

    OpsctlRunner.Run again =
        opsctl.run(Map.of(), "restart", "-s", sleepers + ",status=ON", "--yes");
    assertEquals(0, again.exit(), again.out() + again.err());
    assertTrue(again.out().contains("restart: 10 ok, 0 failed of 10"), again.out());
    assertFalse(again.out().contains("flaky"), "flaky is not ON and not selected: " + again.out());
  }
}
