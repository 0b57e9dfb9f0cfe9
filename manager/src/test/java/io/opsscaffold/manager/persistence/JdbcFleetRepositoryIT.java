package io.opsscaffold.manager.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.manager.fleet.AgentHealth;
import io.opsscaffold.manager.fleet.AgentLifecycle;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.NodeRecord;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The repository's contract, on PostgreSQL and on the embedded H2 database. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JdbcFleetRepositoryIT {
  private TestDatabases.Created pg;
  private Database postgres;
  private Database h2;

  @BeforeAll
  void open() {
    pg = TestDatabases.postgres();
    postgres = Database.open(pg.settings(TestDatabases.h2().dataDir()));
    h2 = Database.open(TestDatabases.h2());
  }

  @AfterAll
  void close() {
    postgres.close();
    h2.close();
    pg.close();
  }

  Stream<Database> databases() {
    return Stream.of(postgres, h2);
  }

  private static int nodeCounter;

  private static String newNodeId() {
    return "node-" + (++nodeCounter) + "-" + System.nanoTime();
  }

  static NodeRecord node(String id, String area, String connectivity, String session) {
    return new NodeRecord(
        id,
        "host-" + id,
        "10.0.0.1",
        "Linux",
        "amd64",
        "0.1.0",
        area,
        "z1",
        0,
        "biz",
        Map.of("rack", "r1"),
        NodeConnectivity.valueOf(connectivity),
        session,
        1000,
        1000,
        1000,
        "");
  }

  static AgentRecord agent(String nodeId, String agentId, String type, String lifecycle, long pid) {
    return new AgentRecord(
        nodeId,
        agentId,
        type,
        AgentLifecycle.parse(lifecycle),
        AgentHealth.HEALTHY,
        pid,
        1000,
        2000,
        30000,
        OptionalInt.empty(),
        0,
        0,
        "",
        3000,
        List.of(),
        "");
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void whetherAnAgentIsMeantToBeStoppedIsStored(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String n = newNodeId();
    repo.apply(List.of(new FleetWrite.NodeConnected(node(n, "east", "ONLINE", "s1"))));
    AgentRecord stopped = agent(n, "a1", "t", "STOPPED", 0).withStopRequested(true);
    repo.apply(List.of(new FleetWrite.UpsertAgents(List.of(stopped))));
    assertTrue(repo.findAgent(n, "a1").orElseThrow().stopRequested());
    repo.apply(List.of(new FleetWrite.UpsertAgents(List.of(agent(n, "a1", "t", "RUNNING", 7)))));
    assertFalse(repo.findAgent(n, "a1").orElseThrow().stopRequested());
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void upsertInsertsThenUpdatesAndKeepsTypeWhenEmpty(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String n = newNodeId();
    repo.apply(List.of(new FleetWrite.NodeConnected(node(n, "east", "ONLINE", "s1"))));
    repo.apply(
        List.of(new FleetWrite.UpsertAgents(List.of(agent(n, "a1", "filebeat", "RUNNING", 11)))));
    AgentRecord changed =
        new AgentRecord(
            n,
            "a1",
            "",
            AgentLifecycle.RESTARTING,
            AgentHealth.DEAD,
            0,
            0,
            2000,
            30000,
            OptionalInt.of(137),
            5000,
            1,
            "exited with code 137",
            5000,
            List.of("boom", "", "last words"),
            "killed by signal 9 (KILL)");
    repo.apply(List.of(new FleetWrite.UpsertAgents(List.of(changed))));

    AgentRecord stored = repo.findAgent(n, "a1").orElseThrow();
    assertEquals("filebeat", stored.type(), "an empty type keeps the stored type");
    assertEquals(AgentLifecycle.RESTARTING, stored.lifecycle());
    assertEquals(OptionalInt.of(137), stored.lastExitCode());
    assertEquals(1, stored.restartCount());
    assertEquals("exited with code 137", stored.message());
    assertEquals(List.of("boom", "", "last words"), stored.lastLogLines());
    assertEquals("killed by signal 9 (KILL)", stored.lastRestartReason());
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void oneBatchWithRepeatedKeysKeepsTheNewest(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String n = newNodeId();
    List<FleetWrite> writes = new ArrayList<>();
    writes.add(new FleetWrite.NodeConnected(node(n, "east", "ONLINE", "s1")));
    for (int pid = 1; pid <= 50; pid++) {
      writes.add(
          new FleetWrite.UpsertAgents(List.of(agent(n, "a" + (pid % 5), "t", "RUNNING", pid))));
    }
    repo.apply(writes);
    List<AgentRecord> agents = repo.listAgents(n);
    assertEquals(5, agents.size());
    assertEquals(50, repo.findAgent(n, "a0").orElseThrow().pid());
    assertEquals(46, repo.findAgent(n, "a1").orElseThrow().pid());
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void replaceAgentsRemovesWhatIsMissing(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String n = newNodeId();
    repo.apply(
        List.of(
            new FleetWrite.NodeConnected(node(n, "east", "ONLINE", "s1")),
            new FleetWrite.ReplaceAgents(
                n, List.of(agent(n, "a", "t", "RUNNING", 1), agent(n, "b", "t", "RUNNING", 2)))));
    repo.apply(
        List.of(
            new FleetWrite.ReplaceAgents(
                n, List.of(agent(n, "b", "t", "RUNNING", 3), agent(n, "c", "t", "STOPPED", 0)))));
    assertEquals(List.of("b", "c"), repo.listAgents(n).stream().map(AgentRecord::agentId).toList());
    assertEquals(3, repo.findAgent(n, "b").orElseThrow().pid());
    assertEquals(2, repo.countAgents(n));
    repo.apply(List.of(new FleetWrite.RemoveAgents(n, List.of("c"))));
    assertEquals(1, repo.countAgents(n));
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void agentsOfManyNodesAreCountedInOneQuery(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String two = newNodeId();
    String none = newNodeId();
    String one = newNodeId();
    repo.apply(
        List.of(
            new FleetWrite.NodeConnected(node(two, "east", "ONLINE", "s1")),
            new FleetWrite.NodeConnected(node(none, "east", "ONLINE", "s2")),
            new FleetWrite.NodeConnected(node(one, "east", "ONLINE", "s3")),
            new FleetWrite.ReplaceAgents(
                two,
                List.of(agent(two, "a", "t", "RUNNING", 1), agent(two, "b", "t", "RUNNING", 2))),
            new FleetWrite.ReplaceAgents(one, List.of(agent(one, "a", "t", "RUNNING", 3)))));
    assertEquals(
        Map.of(two, 2, none, 0, one, 1, "never-seen", 0),
        repo.countAgents(List.of(two, none, one, "never-seen")));
    assertEquals(Map.of(), repo.countAgents(List.of()));
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void agentsOfManyNodesAreReadInOneQueryAsEachNodesOwn(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String two = newNodeId();
    String none = newNodeId();
    String one = newNodeId();
    repo.apply(
        List.of(
            new FleetWrite.NodeConnected(node(two, "east", "ONLINE", "s1")),
            new FleetWrite.NodeConnected(node(none, "east", "ONLINE", "s2")),
            new FleetWrite.NodeConnected(node(one, "east", "ONLINE", "s3")),
            new FleetWrite.ReplaceAgents(
                two,
                List.of(agent(two, "b", "t", "RUNNING", 2), agent(two, "a", "t", "RUNNING", 1))),
            new FleetWrite.ReplaceAgents(one, List.of(agent(one, "a", "t", "RUNNING", 3)))));
    Map<String, List<AgentRecord>> many = repo.listAgents(List.of(two, none, one, "never-seen"));
    assertEquals(repo.listAgents(two), many.get(two));
    assertEquals(List.of("a", "b"), many.get(two).stream().map(AgentRecord::agentId).toList());
    assertEquals(repo.listAgents(one), many.get(one));
    assertEquals(List.of(), many.get(none));
    assertEquals(List.of(), many.get("never-seen"));
    assertEquals(Map.of(), repo.listAgents(List.<String>of()));
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void connectivityFollowsSessions(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String n = newNodeId();
    repo.apply(List.of(new FleetWrite.NodeConnected(node(n, "east", "ONLINE", "s1"))));
    assertTrue(repo.onlineNodeIds().contains(n));
    repo.apply(List.of(new FleetWrite.NodeDisconnected(n, "other-session", 9000)));
    assertEquals(
        1000, repo.findNode(n).orElseThrow().lastSeenMs(), "another session's end is ignored");
    repo.apply(
        List.of(new FleetWrite.NodeDisconnected(n, "s1", 9000), new FleetWrite.NodeOffline(n)));
    NodeRecord stored = repo.findNode(n).orElseThrow();
    assertEquals(NodeConnectivity.OFFLINE, stored.connectivity());
    assertEquals(9000, stored.lastSeenMs());
    assertEquals(0, stored.connectedSinceMs());
    assertEquals(Map.of("rack", "r1"), stored.labels());
    assertFalse(repo.onlineNodeIds().contains(n));
    repo.apply(List.of(new FleetWrite.NodeStats(n, "{\"cores\":2}", 12000)));
    assertEquals("{\"cores\":2}", repo.findNode(n).orElseThrow().hostStatsJson());
    assertEquals(12000, repo.findNode(n).orElseThrow().lastSeenMs());
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void listNodesFiltersAndPages(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String area = "area-" + System.nanoTime();
    List<FleetWrite> writes = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      writes.add(
          new FleetWrite.NodeConnected(
              node(area + "-n" + i, area, i % 2 == 0 ? "ONLINE" : "OFFLINE", "s" + i)));
    }
    repo.apply(writes);
    FleetRepository.Page<NodeRecord> all = repo.listNodes(area, "", 0, 5);
    assertEquals(7, all.total());
    assertEquals(5, all.items().size());
    assertEquals(area + "-n0", all.items().get(0).nodeId());
    assertEquals(2, repo.listNodes(area, "", 5, 5).items().size());
    assertEquals(0, repo.listNodes(area, "", 10, 5).items().size());
    assertEquals(4, repo.listNodes(area, "ONLINE", 0, 50).total());
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void aFailingBatchLeavesNothingBehind(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String n = newNodeId();
    String tooLong = "x".repeat(500);
    assertThrows(
        DataAccessException.class,
        () ->
            repo.apply(
                List.of(
                    new FleetWrite.NodeConnected(node(n, "east", "ONLINE", "s1")),
                    new FleetWrite.UpsertAgents(List.of(agent(n, tooLong, "t", "RUNNING", 1))))));
    assertTrue(repo.findNode(n).isEmpty(), "the node write was rolled back with the batch");
  }

  @ParameterizedTest(autoCloseArguments = false)
  @MethodSource("databases")
  void fleetListingJoinsNodesAndFindsHostsByAddress(Database db) {
    FleetRepository repo = new JdbcFleetRepository(db);
    String a = newNodeId();
    String b = newNodeId();
    NodeRecord na = node(a, "addr-test", "ONLINE", "s1");
    NodeRecord nb =
        new NodeRecord(
            b,
            "host-" + b,
            "10.1.1.2",
            "Linux",
            "amd64",
            "0.2.0",
            "addr-test",
            "z2",
            5,
            "biz",
            Map.of(),
            NodeConnectivity.ONLINE,
            "s2",
            1000,
            1000,
            1000,
            "");
    repo.apply(
        List.of(
            new FleetWrite.NodeConnected(na),
            new FleetWrite.NodeConnected(nb),
            new FleetWrite.ReplaceAgents(
                a,
                List.of(agent(a, "x", "filebeat", "RUNNING", 1), agent(a, "y", "t", "RUNNING", 2))),
            new FleetWrite.ReplaceAgents(b, List.of(agent(b, "x", "filebeat", "STOPPED", 0)))));
    var byArea =
        repo.listFleetAgents(
            new FleetRepository.AgentFilter("", "", "addr-test", "", "", "", "", ""));
    assertEquals(3, byArea.size());
    assertEquals(a, byArea.get(0).node().nodeId());
    assertEquals("x", byArea.get(0).agent().agentId());
    assertEquals(
        2,
        repo.listFleetAgents(
                new FleetRepository.AgentFilter("", "x", "addr-test", "", "", "", "", ""))
            .size());
    assertEquals(
        1,
        repo.listFleetAgents(
                new FleetRepository.AgentFilter(
                    "", "", "addr-test", "z2", "", "10.1.1.2", "filebeat", "0.2.0"))
            .size());

    var found =
        repo.findNodesByAddress(List.of("10.1.1.2", "10.1.1.2", "10.9.9.9"), List.of(5, 0, 0));
    assertEquals(
        List.of(b),
        found.stream().map(NodeRecord::nodeId).toList(),
        "ip and cloud must both match");
  }

  /**
   * A small change to a large fleet finds its rows by key instead of reading every agent. The
   * agents' MERGE runs with one row and with thousands, and PostgreSQL caches a generic plan for a
   * prepared statement after a few executions: built while the table was still nearly empty, that
   * plan scanned the whole table for every delta once the fleet had grown (until something analysed
   * the table), which put tens of milliseconds on a delta's way to its Ack.
   */
  @Test
  void aSmallChangeToALargeFleetIsFoundByKeyNotByAScan() throws SQLException {
    try (TestDatabases.Created created = TestDatabases.postgres();
        Database db =
            Database.open(
                new DatabaseSettings(
                    Optional.of(created.url()),
                    created.user(),
                    "",
                    2,
                    TestDatabases.h2().dataDir()))) {
      FleetRepository repo = new JdbcFleetRepository(db);
      String n = newNodeId();
      repo.apply(List.of(new FleetWrite.NodeConnected(node(n, "east", "ONLINE", "s1"))));
      for (int i = 0; i < 12; i++) { // enough for a server-side statement and a cached plan
        repo.apply(
            List.of(new FleetWrite.UpsertAgents(List.of(agent(n, "a0", "t", "RUNNING", i)))));
      }
      List<AgentRecord> fleet = new ArrayList<>();
      for (int i = 0; i < 5_000; i++) {
        fleet.add(agent(n, "a" + i, "t", "RUNNING", i));
      }
      repo.apply(List.of(new FleetWrite.UpsertAgents(fleet)));

      long[] before = agentScans(db);
      for (int i = 0; i < 10; i++) {
        repo.apply(
            List.of(
                new FleetWrite.UpsertAgents(
                    List.of(
                        agent(n, "a" + (7 * i), "t", "RESTARTING", 0),
                        agent(n, "a" + (7 * i + 1), "t", "RUNNING", 100 + i)))));
      }
      long[] after = agentScans(db);

      assertEquals(before[0], after[0], "sequential scans of agents during ten two-row changes");
      assertTrue(
          after[1] >= before[1] + 10, "index scans of agents: " + before[1] + " -> " + after[1]);
      assertEquals(AgentLifecycle.RESTARTING, repo.findAgent(n, "a63").orElseThrow().lifecycle());
    }
  }

  /** Sequential and index scans of the agents table so far, as PostgreSQL counts them. */
  private static long[] agentScans(Database db) throws SQLException {
    // Both of the pool's connections at once: each backend's counts are flushed when it goes idle.
    try (Connection c = db.connection();
        Connection other = db.connection();
        Statement s = c.createStatement();
        Statement o = other.createStatement()) {
      o.execute("SELECT pg_stat_force_next_flush()");
      s.execute("SELECT pg_stat_force_next_flush()");
      try (ResultSet rs =
          s.executeQuery(
              "SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'agents'")) {
        assertTrue(rs.next());
        return new long[] {rs.getLong(1), rs.getLong(2)};
      }
    }
  }
}
