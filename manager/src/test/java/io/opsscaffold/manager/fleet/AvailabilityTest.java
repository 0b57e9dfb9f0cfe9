package io.opsscaffold.manager.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AvailabilityTest {
  private static final long NOW = 1_000_000;

  private static NodeRecord node(String connectivity) {
    return new NodeRecord(
        "n1",
        "h",
        "ip",
        "os",
        "arch",
        "v",
        "a",
        "z",
        0,
        "b",
        Map.of(),
        NodeConnectivity.valueOf(connectivity),
        "s",
        1,
        1,
        1,
        "");
  }

  private static AgentRecord agent(
      String lifecycle, String health, long startedAgoMs, long heartbeatAgoMs, long timeoutMs) {
    return new AgentRecord(
        "n1",
        "a1",
        "t",
        AgentLifecycle.parse(lifecycle),
        AgentHealth.parse(health),
        7,
        startedAgoMs < 0 ? 0 : NOW - startedAgoMs,
        heartbeatAgoMs < 0 ? 0 : NOW - heartbeatAgoMs,
        timeoutMs,
        OptionalInt.empty(),
        0,
        0,
        "",
        NOW,
        java.util.List.of(),
        "");
  }

  @ParameterizedTest(
      name = "{0} {1} {2} started {3} ms ago, heartbeat {4} ms ago, timeout {5} -> {6}")
  @CsvSource({
    // node,    lifecycle,   health,          started, heartbeat, timeout, expected
    "ONLINE,  RUNNING,     HEALTHY,         1000,    500,       5000,    0",
    "ONLINE,  RUNNING,     HEALTHY,         60000,   6000,      5000,    3",
    "ONLINE,  RUNNING,     HEALTHY,         1000,    -1,        5000,    0",
    "ONLINE,  RUNNING,     HEALTHY,         9000,    -1,        5000,    3",
    "ONLINE,  RUNNING,     HEALTHY,         60000,   -1,        0,       0",
    "ONLINE,  RUNNING,     NO_HEARTBEAT,    1000,    500,       5000,    3",
    "ONLINE,  RUNNING,     UNHEALTHY_PROBE, 1000,    500,       5000,    3",
    "ONLINE,  RUNNING,     NO_DATA,         1000,    500,       5000,    3",
    "ONLINE,  RUNNING,     DEAD,            1000,    500,       5000,    1",
    "ONLINE,  RUNNING,     OVER_THRESHOLD,  1000,    500,       5000,    0",
    "ONLINE,  STOPPED,     DEAD,            -1,      -1,        5000,    1",
    "ONLINE,  STARTING,    UNKNOWN,         -1,      -1,        5000,    1",
    "ONLINE,  RESTARTING,  DEAD,            -1,      -1,        5000,    1",
    "ONLINE,  STOPPING,    HEALTHY,         1000,    500,       5000,    1",
    "ONLINE,  FAILED,      DEAD,            -1,      -1,        5000,    1",
    "ONLINE,  CRASH_LOOP,  DEAD,            -1,      -1,        5000,    1",
    "ONLINE,  UNSPECIFIED, UNKNOWN,         -1,      -1,        0,       -1",
    "OFFLINE, RUNNING,     HEALTHY,         1000,    500,       5000,    -1",
    "OFFLINE, STOPPED,     DEAD,            -1,      -1,        5000,    -1",
  })
  void derivesTheGseCode(
      String connectivity,
      String lifecycle,
      String health,
      long startedAgo,
      long heartbeatAgo,
      long timeout,
      int expected) {
    Availability a =
        Availability.of(
            node(connectivity), agent(lifecycle, health, startedAgo, heartbeatAgo, timeout), NOW);
    assertEquals(expected, a.code());
  }
}
