package io.opsscaffold.manager.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.manager.fleet.AgentHealth;
import io.opsscaffold.manager.fleet.AgentLifecycle;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.manager.persistence.Database;
import io.opsscaffold.manager.persistence.JdbcFleetRepository;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.testing.Await;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The state writer on a real PostgreSQL database that stops answering: a session holds the agents
 * table locked, so the writer's transaction waits, as it would on a database that is slow or down.
 */
class StateWriterIT {
  private static final String NODE = "n1";
  private TestDatabases.Created pg;
  private Database db;
  private JdbcFleetRepository repo;
  private StateWriter writer;
  private final AtomicLong acked = new AtomicLong();
  private final StateWriter.Acker acker = seq -> acked.accumulateAndGet(seq, Math::max);

  @BeforeEach
  void open() throws Exception {
    pg = TestDatabases.postgres();
    db = Database.open(pg.settings(TestDatabases.h2().dataDir()));
    repo = new JdbcFleetRepository(db);
    writer =
        new StateWriter(
            repo,
            new SessionRegistry(),
            TracerProvider.noop().get("test"),
            io.opsscaffold.time.Time.system());
    writer.submit(
        new FleetWrite.NodeConnected(
            new NodeRecord(
                NODE,
                "host",
                "10.0.0.1",
                "Linux",
                "amd64",
                "0.1.0",
                "east",
                "z1",
                0,
                "biz",
                Map.of(),
                NodeConnectivity.ONLINE,
                "s1",
                1000,
                1000,
                1000,
                "")),
        acker,
        1,
        List.of());
    awaitAck(1);
  }

  @AfterEach
  void close() {
    writer.close();
    db.close();
    pg.close();
  }

  private static AgentRecord agent(String id, long pid) {
    return new AgentRecord(
        NODE,
        id,
        "t",
        AgentLifecycle.RUNNING,
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

  private void awaitAck(long seq) {
    Await.until(
        Duration.ofSeconds(30), "the acknowledgement of seq " + seq, acked::get, a -> a >= seq);
  }

  /** Waits until the writer's transaction is blocked on the table lock. */
  private void awaitWriterBlocked() {
    Await.until(
        Duration.ofSeconds(10),
        "the writer to wait on the lock",
        () -> {
          try (Connection c = DriverManager.getConnection(pg.url(), pg.user(), "");
              Statement s = c.createStatement();
              ResultSet rs =
                  s.executeQuery(
                      "SELECT count(*) FROM pg_stat_activity"
                          + " WHERE datname = current_database() AND wait_event_type = 'Lock'")) {
            rs.next();
            return rs.getInt(1);
          } catch (SQLException e) {
            throw new IllegalStateException(e);
          }
        },
        n -> n > 0);
  }

  /** Holds the agents table locked until closed: the writer's next transaction waits. */
  private Connection lockAgents() throws Exception {
    Connection c = DriverManager.getConnection(pg.url(), pg.user(), "");
    c.setAutoCommit(false);
    try (Statement s = c.createStatement()) {
      s.execute("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE");
    }
    return c;
  }

  @Test
  void whileTheDatabaseWaitsTheBacklogIsBoundedByTheAgentsAndTheNewestStateWins() throws Exception {
    int agents = 50;
    int deltas = 100_000;
    long seq = 1;
    try (Connection lock = lockAgents()) {
      writer.submit(new FleetWrite.UpsertAgents(List.of(agent("a0", 1))), acker, ++seq, List.of());
      awaitWriterBlocked();
      for (int i = 0; i < deltas; i++) {
        writer.submit(
            new FleetWrite.UpsertAgents(List.of(agent("a" + (i % agents), 100 + i))),
            acker,
            ++seq,
            List.of());
      }
      assertTrue(
          writer.backlog() <= agents,
          "backlog " + writer.backlog() + " after " + deltas + " deltas");
      assertEquals(1, acked.get(), "nothing is acknowledged before it is committed");
      lock.rollback();
    }
    awaitAck(seq);
    for (int a = 0; a < agents; a++) {
      long lastPid = 100 + (deltas - agents + a);
      assertEquals(lastPid, repo.findAgent(NODE, "a" + a).orElseThrow().pid(), "agent a" + a);
    }
  }

  @Test
  void coalescingKeepsTheOrderOfRemovalsAndFullStates() throws Exception {
    long seq = 1;
    try (Connection lock = lockAgents()) {
      writer.submit(
          new FleetWrite.UpsertAgents(List.of(agent("held", 1))), acker, ++seq, List.of());
      awaitWriterBlocked();
      writer.submit(
          new FleetWrite.UpsertAgents(List.of(agent("back", 10), agent("gone", 20))),
          acker,
          ++seq,
          List.of());
      writer.submit(
          new FleetWrite.RemoveAgents(NODE, List.of("back", "gone")), acker, ++seq, List.of());
      writer.submit(
          new FleetWrite.UpsertAgents(List.of(agent("back", 11))), acker, ++seq, List.of());
      writer.submit(
          new FleetWrite.ReplaceAgents(NODE, List.of(agent("back", 12), agent("full", 30))),
          acker,
          ++seq,
          List.of());
      writer.submit(
          new FleetWrite.UpsertAgents(List.of(agent("full", 31))), acker, ++seq, List.of());
      lock.rollback();
    }
    awaitAck(seq);
    assertEquals(
        List.of("back", "full"),
        repo.listAgents(NODE).stream().map(AgentRecord::agentId).toList(),
        "the full state replaced what came before it");
    assertEquals(12, repo.findAgent(NODE, "back").orElseThrow().pid());
    assertEquals(
        31,
        repo.findAgent(NODE, "full").orElseThrow().pid(),
        "a delta after a full state applies on it");
  }
}
