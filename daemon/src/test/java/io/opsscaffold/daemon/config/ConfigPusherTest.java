package io.opsscaffold.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.logs.AgentLogs;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.daemon.supervision.AgentSpec;
import io.opsscaffold.daemon.supervision.ConfigPolicy;
import io.opsscaffold.daemon.supervision.OsProcessLauncher;
import io.opsscaffold.daemon.supervision.Supervisor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** File handling of config pushes (reload "none", so no agent needs to run). */
class ConfigPusherTest {
  @TempDir Path dir;
  private Path conf;
  private Supervisor supervisor;
  private ConfigPusher pusher;

  @BeforeEach
  void start() throws Exception {
    conf = Files.createDirectories(dir.resolve("conf"));
    AgentSpec spec =
        new AgentSpec(
            "a1",
            "t",
            "sleep",
            List.of("60"),
            dir,
            Map.of(),
            RestartPolicy.defaults(),
            HealthPolicy.defaults(),
            Duration.ofSeconds(1),
            false,
            Duration.ZERO,
            "TERM",
            LogPolicy.defaults(),
            new ConfigPolicy(
                Optional.of(conf), ConfigPolicy.Reload.NONE, Optional.empty(), Duration.ZERO));
    supervisor =
        new Supervisor(
            List.of(spec),
            new OsProcessLauncher(new AgentLogs(dir.resolve("logs"))),
            (s, c) -> {},
            io.opsscaffold.time.Time.system(),
            TracerProvider.noop().get("t"));
    pusher = new ConfigPusher(supervisor, io.opsscaffold.time.Time.system());
  }

  @AfterEach
  void stop() {
    supervisor.close(true);
  }

  private static ConfigPusher.File file(String name, String content) {
    return new ConfigPusher.File(name, content.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void filesAreWrittenAndASecondIdenticalPushChangesNothing() throws Exception {
    ConfigPusher.Result r =
        pusher.push(
            "a1", List.of(file("a.conf", "x=1\n"), file("b.conf", "y=2\n")), Context.root());
    assertEquals(ConfigPusher.Outcome.APPLIED, r.outcome());
    assertEquals("x=1\n", Files.readString(conf.resolve("a.conf")));
    assertEquals(ConfigPusher.hash(conf), r.hash());
    ConfigPusher.Result again = pusher.push("a1", List.of(file("a.conf", "x=1\n")), Context.root());
    assertEquals(ConfigPusher.Outcome.UNCHANGED, again.outcome());
    assertEquals(r.hash(), again.hash());
  }

  @Test
  void aPushThatCannotBeWrittenWhollyLeavesThePreviousFilesInPlace() throws Exception {
    Files.writeString(conf.resolve("a.conf"), "old\n");
    Files.createDirectories(
        conf.resolve("b.conf").resolve("in-the-way")); // b.conf cannot be replaced
    String before = ConfigPusher.hash(conf);
    ConfigPusher.Result r =
        pusher.push("a1", List.of(file("a.conf", "new\n"), file("b.conf", "y\n")), Context.root());
    assertFalse(r.applied());
    assertEquals(
        java.util.Optional.of(io.opsscaffold.errors.OpsException.Kind.INTERNAL), r.failure());
    assertEquals(
        "old\n", Files.readString(conf.resolve("a.conf")), "a.conf is back: no half-applied push");
    assertEquals(before, ConfigPusher.hash(conf));
    try (var files = Files.list(conf)) {
      assertTrue(
          files.noneMatch(p -> p.getFileName().toString().contains(".ops-tmp-")),
          "no temporary file is left");
    }
  }

  @Test
  void aNewFileBelongsToTheAgentsUserAndAReplacedOneKeepsItsOwnerAndMode() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        new com.sun.security.auth.module.UnixSystem().getUid() == 0, "changing owners needs root");
    var nobody =
        io.opsscaffold.daemon.supervision.RunAs.resolve(
            "nobody", Path.of("/etc/passwd"), Path.of("/etc/group"));
    Path fresh = conf.resolve("new.conf");
    ConfigPusher.write(fresh, "x\n".getBytes(StandardCharsets.UTF_8), Optional.of(nobody));
    assertEquals(nobody.uid(), Files.getAttribute(fresh, "unix:uid"));
    assertEquals(nobody.gid(), Files.getAttribute(fresh, "unix:gid"));
    assertEquals(
        "rw-------",
        java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)),
        "readable by the agent's user only");

    Path kept = conf.resolve("kept.conf");
    Files.writeString(kept, "old\n");
    Files.setAttribute(kept, "unix:uid", 1);
    Files.setAttribute(kept, "unix:gid", 1);
    Files.setPosixFilePermissions(
        kept, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
    ConfigPusher.write(kept, "new\n".getBytes(StandardCharsets.UTF_8), Optional.of(nobody));
    assertEquals("new\n", Files.readString(kept));
    assertEquals(1, Files.getAttribute(kept, "unix:uid"), "the replaced file's owner");
    assertEquals(1, Files.getAttribute(kept, "unix:gid"));
    assertEquals(
        "rw-r-----",
        java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(kept)));
  }

  @Test
  void badNamesAndAgentsWithoutAConfigDirAreRefused() {
    ConfigPusher.Result escape = pusher.push("a1", List.of(file("../x", "x")), Context.root());
    assertEquals(
        java.util.Optional.of(io.opsscaffold.errors.OpsException.Kind.INVALID_ARGUMENT),
        escape.failure());
    assertFalse(Files.exists(dir.resolve("x")));
    assertEquals(
        java.util.Optional.of(io.opsscaffold.errors.OpsException.Kind.NOT_FOUND),
        pusher.push("nope", List.of(file("a", "x")), Context.root()).failure());
  }

  @Test
  void aPushedFileKeepsTheModeOfTheFileItReplacesAndANewOneIsForTheOwnerOnly() throws Exception {
    Path shared = Files.writeString(conf.resolve("shared.conf"), "old\n");
    Files.setPosixFilePermissions(
        shared, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    assertTrue(
        pusher
            .push(
                "a1",
                List.of(file("shared.conf", "new\n"), file("fresh.conf", "x\n")),
                Context.root())
            .applied());
    assertEquals(
        "rw-r--r--",
        java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(shared)));
    assertEquals(
        "rw-------",
        java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(conf.resolve("fresh.conf"))));
  }

  @Test
  void aSymbolicLinkInTheConfigDirectoryIsNeverWrittenThrough() throws Exception {
    Path outside = Files.writeString(dir.resolve("outside.txt"), "untouched\n");
    Files.createSymbolicLink(conf.resolve("agent.yaml"), outside);
    ConfigPusher.Result r =
        pusher.push("a1", List.of(file("agent.yaml", "state_file: /etc/passwd\n")), Context.root());
    assertEquals(
        java.util.Optional.of(io.opsscaffold.errors.OpsException.Kind.FAILED_PRECONDITION),
        r.failure());
    assertEquals(
        "files: 'agent.yaml' is a symbolic link in the agent's config-dir; pushes never write or read"
            + " through links",
        r.message());
    assertEquals("untouched\n", Files.readString(outside));
    assertTrue(Files.isSymbolicLink(conf.resolve("agent.yaml")), "the link itself is left alone");
  }
}
