package io.opsscaffold.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.settings.Settings;
import io.opsscaffold.settings.SettingsException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DaemonSettingsTest {

  @Test
  void readsAgentsWithTheirPolicies() {
    DaemonSettings s =
        DaemonSettings.read(
            Settings.ofYaml(
                """
        node:
          id: n1
          labels: {area: east, cloud-id: 3, extra: {rack: r7}}
        manager:
          address: manager:8080
          tls: {ca-fingerprint: "SHA256:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"}
        agents:
          - id: a1
            command: sh
            args: [-c, "sleep 100"]
            restart: {policy: on-failure, initial-delay: 250ms, max-delay: 1m, crash-loop-after: 3}
            start-seconds: 2s
            stop-signal: INT
            config-dir: /etc/a1
            remote-config: true
            stop-timeout: 3s
            heartbeat-timeout: 30s
          - id: a2
            command: sh
            autostart: false
          - id: a3
            command: sh
            heartbeat-timeout: 0
        """));
    assertEquals("n1", s.nodeId());
    assertEquals("east", s.area());
    assertEquals(3, s.cloudId());
    assertEquals("r7", s.extraLabels().get("rack"));
    assertEquals("manager:8080", s.link().address());
    assertEquals(3, s.agents().size());
    assertEquals(
        java.util.Optional.of(Duration.ZERO),
        s.agents().get(2).health().heartbeatTimeout(),
        "0: off, as the README says");
    var a1 = s.agents().get(0);
    assertEquals(List.of("-c", "sleep 100"), a1.args());
    assertEquals(io.opsscaffold.daemon.restart.RestartPolicy.Mode.ON_FAILURE, a1.restart().mode());
    assertEquals(Duration.ofMillis(250), a1.restart().initialDelay());
    assertEquals(Duration.ofMinutes(1), a1.restart().maxDelay());
    assertEquals(3, a1.restart().crashLoopAfter());
    assertEquals(Duration.ofSeconds(2), a1.startSeconds());
    assertEquals("INT", a1.stopSignal());
    assertEquals(java.util.Optional.of(java.nio.file.Path.of("/etc/a1")), a1.configDir());
    assertEquals(Duration.ofSeconds(1), s.agents().get(1).startSeconds());
    assertEquals("TERM", s.agents().get(1).stopSignal());
    assertEquals(Duration.ofSeconds(3), a1.stopTimeout());
    assertEquals(java.util.Optional.of(Duration.ofSeconds(30)), a1.health().heartbeatTimeout());
    assertEquals(
        java.util.Optional.empty(),
        s.agents().get(1).health().heartbeatTimeout(),
        "auto by default");
    assertEquals(
        io.opsscaffold.daemon.restart.RestartPolicy.Mode.ALWAYS,
        s.agents().get(1).restart().mode());
    assertEquals(false, s.agents().get(1).autostart());
  }

  @Test
  void theLegacySingleAgentFormIsAListOfOne() {
    DaemonSettings s =
        DaemonSettings.read(
            Settings.ofYaml(
                """
        node: {id: n1}
        manager: {tls: {insecure: true}}
        agent:
          id: solo
          command: sh
        """));
    assertEquals(List.of("solo"), s.agents().stream().map(a -> a.id()).toList());
  }

  @Test
  void everyProblemIsNamedAtOnce() {
    SettingsException e =
        assertThrows(
            SettingsException.class,
            () ->
                DaemonSettings.read(
                    Settings.ofYaml(
                        """
        node: {id: "bad id!"}
        manager: {adress: x}
        agents:
          - id: a1
            command: /no/such/binary
            restart: {policy: sometimes, initial-delay: soon}
          - id: a1
            command: sh
            working-dir: /no/such/dir
          - command: sh
        """)));
    String m = e.getMessage();
    assertTrue(m.contains("node.id: must be 1 to 128 characters"), m);
    assertTrue(m.contains("manager.adress: unknown key"), m);
    assertTrue(m.contains("agents.0.command: '/no/such/binary' is not an executable file"), m);
    assertTrue(m.contains("agents.0.restart.policy: must be one of always, on-failure, never"), m);
    assertTrue(m.contains("agents.0.restart.initial-delay: 'soon' is not a duration"), m);
    assertTrue(m.contains("agents.1.id: duplicate agent id 'a1'"), m);
    assertTrue(m.contains("agents.1.working-dir: directory '/no/such/dir' does not exist"), m);
    assertTrue(m.contains("agents.2.id: is required"), m);
    assertTrue(m.contains("manager.tls: the daemon needs to know its manager: set ca-file"), m);
    assertEquals(9, e.problems().size(), m);
  }

  private static String problems(String yaml) {
    return assertThrows(SettingsException.class, () -> DaemonSettings.read(Settings.ofYaml(yaml)))
        .getMessage();
  }

  @Test
  void theManagerIsTrustedByItsCaFileOrFingerprintAndPlaintextOnlyOnLoopback() {
    DaemonSettings pinned =
        DaemonSettings.read(
            Settings.ofYaml(
                "node: {id: n1}\nmanager: {tls: {ca-fingerprint: \""
                    + "ab:".repeat(31)
                    + "ab\"}}\n"));
    assertEquals(
        new io.opsscaffold.daemon.link.ManagerTrust.Pinned(
            "sha256:" + "ab".repeat(32), java.nio.file.Path.of("data/daemon/tls/manager-ca.crt")),
        pinned.link().trust());
    String m =
        problems("node: {id: n1}\nmanager: {address: 10.1.2.3:8080, tls: {insecure: true}}\n");
    assertTrue(
        m.contains(
            "manager.tls.insecure: plaintext is only allowed to a manager on a loopback address"
                + " (manager.address has 10.1.2.3:8080)"),
        m);
    // Several managers: each plaintext address must be on loopback too.
    String several =
        problems(
            "node: {id: n1}\nmanager: {address: [127.0.0.1:8080, 10.1.2.3:8080], tls: {insecure:"
                + " true}}\n");
    assertTrue(several.contains("(manager.address has 10.1.2.3:8080)"), several);
    assertTrue(
        problems("node: {id: n1}\nmanager: {tls: {ca-fingerprint: nope}}\n")
            .contains("manager.tls.ca-fingerprint: a CA fingerprint is sha256: and 64 hex digits"));
    assertTrue(
        problems("node: {id: n1}\nmanager: {tls: {ca-file: /etc/hostname, insecure: true}}\n")
            .contains(
                "manager.tls: give one of ca-file, ca-fingerprint and insecure, not several"));
  }

  @Test
  void severalManagersAreAListOrCommaSeparatedAndEachMustBeHostAndPort() {
    DaemonSettings list =
        DaemonSettings.read(
            Settings.ofYaml(
                "node: {id: n1}\nmanager: {address: [m1.example:8443, m2.example:8443], tls: {ca-file: ca.crt}}\n"));
    assertEquals(List.of("m1.example:8443", "m2.example:8443"), list.link().addresses());
    DaemonSettings commas =
        DaemonSettings.read(
            Settings.ofYaml(
                "node: {id: n1}\nmanager: {address: 'm1.example:8443, m2.example:8443', tls: {ca-file: ca.crt}}\n"));
    assertEquals(list.link().addresses(), commas.link().addresses());
    String m = problems("node: {id: n1}\nmanager: {address: [m1.example:8443, m2.example]}\n");
    assertTrue(m.contains("manager.address: m2.example is not host:port"), m);
  }

  @Test
  void anEnrollmentTokenCarriesTheCaFingerprintAndAMalformedOneIsNamedNotShown() {
    String hex = "cd".repeat(32);
    DaemonSettings s =
        DaemonSettings.read(
            Settings.ofYaml(
                "node: {id: n1}\nmanager: {enrollment-token: OPS1."
                    + hex
                    + ".tok123.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG}\n"));
    assertEquals("tok123", s.enrollmentToken().orElseThrow().tokenId());
    assertEquals(
        new io.opsscaffold.daemon.link.ManagerTrust.Pinned(
            "sha256:" + hex, java.nio.file.Path.of("data/daemon/tls/manager-ca.crt")),
        s.link().trust(),
        "the token's fingerprint pins the manager's CA: no CA file needed");
    assertFalse(
        s.enrollmentToken().orElseThrow().toString().contains("abcdefghij"),
        "the secret is never printed");
    String m =
        problems(
            "node: {id: n1}\nmanager: {enrollment-token: 'secret-looking junk', tls: {insecure:"
                + " true}}\n");
    assertTrue(m.contains("manager.enrollment-token: an enrollment token is"), m);
    assertFalse(m.contains("secret-looking junk"), "the value is not echoed: " + m);
    assertTrue(
        problems(
                "node: {id: n1}\nmanager: {enrollment-token: OPS1."
                    + hex
                    + ".tok123.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG, tls: {ca-fingerprint: \""
                    + "ab".repeat(32)
                    + "\"}}\n")
            .contains(
                "manager.tls.ca-fingerprint: differs from the CA fingerprint the enrollment"));
  }

  @Test
  void configPushesAreOptInAndTheirDirectoryHoldsNothingTheAgentRunsFrom(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    java.nio.file.Path conf = java.nio.file.Files.createDirectories(dir.resolve("conf"));
    java.nio.file.Path tool = conf.resolve("run.sh");
    java.nio.file.Files.writeString(tool, "#!/bin/sh\n");
    tool.toFile().setExecutable(true);
    DaemonSettings off =
        DaemonSettings.read(
            Settings.ofYaml(
                "node: {id: n1}\nmanager: {tls: {insecure: true}}\nagents:\n"
                    + "  - {id: a1, command: /bin/sh, config-dir: "
                    + conf
                    + "}\n"));
    assertEquals(
        java.util.Optional.empty(),
        off.agents().get(0).configDir(),
        "a config-dir alone does not open the agent to pushes");
    String m =
        problems(
            "node: {id: n1}\nmanager: {tls: {insecure: true}}\ndata-dir: "
                + dir
                + "\nagents:\n"
                + "  - {id: a1, command: "
                + tool
                + ", remote-config: true, config-dir: "
                + conf
                + ", working-dir: "
                + conf
                + "}\n"
                + "  - {id: a2, command: /bin/sh, remote-config: true, config-dir: "
                + dir
                + "}\n"
                + "  - {id: a3, command: /bin/sh, remote-config: true}\n");
    assertTrue(m.contains("config-dir: holds the agent's executable " + tool.toRealPath()), m);
    assertTrue(m.contains("config-dir: is the agent's working-dir"), m);
    assertTrue(m.contains("config-dir: overlaps the daemon's data-dir"), m);
    assertTrue(m.contains("remote-config: needs a config-dir"), m);
  }
}
