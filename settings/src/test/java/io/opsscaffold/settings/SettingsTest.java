package io.opsscaffold.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {

  @Test
  void readsTypedValuesWithDefaults() {
    Settings s =
        Settings.ofYaml(
            """
        server:
          port: 9000
        link:
          ping-interval: 500ms
        agents:
          - id: a
            args: [x, y]
            env: {K: V}
          - id: b
        """);
    assertEquals(9000, s.integer("server.port", 8080, 0, 65535));
    assertEquals("0.0.0.0", s.string("server.host", "0.0.0.0"));
    assertEquals(
        Duration.ofMillis(500),
        s.duration(
            "link.ping-interval", Duration.ofSeconds(10), Duration.ZERO, Duration.ofHours(1)));
    List<Settings> agents = s.list("agents");
    assertEquals(2, agents.size());
    assertEquals("a", agents.get(0).string("id", ""));
    assertEquals(List.of("x", "y"), agents.get(0).strings("args"));
    assertEquals(Map.of("K", "V"), agents.get(0).stringMap("env"));
    assertEquals("b", agents.get(1).string("id", ""));
    s.finish();
  }

  @Test
  void reportsEveryUnknownKeyAndBadValueByName() {
    Settings s =
        Settings.ofYaml(
            """
        server:
          port: eighty
          hots: x
        link:
          ping-interval: soon
        """);
    s.integer("server.port", 8080, 0, 65535);
    s.string("server.host", "");
    s.duration("link.ping-interval", Duration.ofSeconds(10), Duration.ZERO, Duration.ofHours(1));
    SettingsException e = assertThrows(SettingsException.class, s::finish);
    assertEquals(3, e.problems().size(), e.getMessage());
    assertTrue(e.getMessage().contains("server.port: must be a whole number (got 'eighty')"));
    assertTrue(e.getMessage().contains("server.hots: unknown key"));
    assertTrue(e.getMessage().contains("link.ping-interval: 'soon' is not a duration"));
  }

  @Test
  void rangesAndChoicesAreChecked() {
    Settings s =
        Settings.ofYaml(
            """
        port: 70000
        policy: sometimes
        """);
    assertEquals(8080, s.integer("port", 8080, 0, 65535));
    assertEquals("always", s.oneOf("policy", "always", List.of("always", "on-failure", "never")));
    SettingsException e = assertThrows(SettingsException.class, s::finish);
    assertTrue(e.getMessage().contains("port: must be between 0 and 65535 (got 70000)"));
    assertTrue(
        e.getMessage()
            .contains("policy: must be one of always, on-failure, never (got 'sometimes')"));
  }

  @Test
  void durationsAcceptCommonForms() {
    assertEquals(Duration.ofMillis(1500), DurationText.parse("1.5s"));
    assertEquals(Duration.ofMinutes(5), DurationText.parse("5m"));
    assertEquals(Duration.ofSeconds(10), DurationText.parse("PT10S"));
    assertEquals("30s", DurationText.format(Duration.ofSeconds(30)));
    assertThrows(IllegalArgumentException.class, () -> DurationText.parse("ten"));
  }

  @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir;

  @Test
  void bothLoadersReadTheFileAndLetSystemPropertiesOverrideIt() throws Exception {
    java.nio.file.Path file = dir.resolve("app.yaml");
    java.nio.file.Files.writeString(file, "server:\n  port: 8081\n  host: h1\nlist: [a, b]\n");
    System.setProperty("server.port", "9999");
    try {
      for (Settings s :
          List.of(
              Settings.load(java.util.Optional.of(file), true),
              Settings.loadLean(java.util.Optional.of(file), true))) {
        assertEquals(9999, s.integer("server.port", 1, 0, 65535), "the override wins");
        assertEquals("h1", s.string("server.host", ""));
        assertEquals(List.of("a", "b"), s.strings("list"));
        s.finish();
      }
    } finally {
      System.clearProperty("server.port");
    }
  }

  @Test
  void aMissingOrMalformedFileIsReportedByName() throws Exception {
    java.nio.file.Path missing = dir.resolve("nope.yaml");
    SettingsException e =
        assertThrows(
            SettingsException.class, () -> Settings.loadLean(java.util.Optional.of(missing), true));
    assertTrue(
        e.getMessage().contains("nope.yaml") && e.getMessage().contains("does not exist"),
        e.getMessage());
    java.nio.file.Path broken = dir.resolve("broken.yaml");
    java.nio.file.Files.writeString(broken, "a: [1, 2\n");
    SettingsException parse =
        assertThrows(
            SettingsException.class, () -> Settings.load(java.util.Optional.of(broken), true));
    assertTrue(parse.getMessage().contains("cannot parse the file"), parse.getMessage());
    java.nio.file.Path scalar = dir.resolve("scalar.yaml");
    java.nio.file.Files.writeString(scalar, "just text\n");
    assertThrows(
        SettingsException.class, () -> Settings.loadLean(java.util.Optional.of(scalar), true));
  }

  @Test
  void environmentVariableNamesFollowHelidonsMapping() {
    assertEquals(
        java.util.Optional.ofNullable(System.getenv("PATH")), Settings.environmentOverride("path"));
  }
}
