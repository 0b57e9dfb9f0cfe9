package io.opsscaffold.manager.persistence;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.Consumer;
import java.util.logging.Logger;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * What the area's other managers committed, heard through PostgreSQL's LISTEN/NOTIFY: every
 * manager's {@link JdbcFleetRepository#announceAs} sends the nodes each batch changed in the
 * batch's own transaction, so a notification arrives only for a committed change, and in commit
 * order. This manager's watches and alert engine re-read those nodes.
 *
 * <p>One platform thread, {@code fleet-changes}, holds a connection of its own. When it is lost,
 * notifications sent meanwhile are lost with it: after reconnecting, {@code missed} is told, and
 * its listeners read everything again.
 */
public final class FleetChanges implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(FleetChanges.class.getName());

  /** The channel every manager of the database notifies and listens on. */
  static final String CHANNEL = "ops_fleet_changes";

  /** The channel the area's leader announces alert events on. */
  static final String ALERT_CHANNEL = "ops_alert_events";

  /** Payloads stay under PostgreSQL's 8000 bytes. */
  static final int MAX_PAYLOAD = 7000;

  private final Database database;
  private final String self;
  private final Consumer<Set<String>> changed;
  private final Runnable missed;
  private final Consumer<String> alertHeard;
  private final Thread thread;
  private volatile boolean closed;
  private volatile Connection connection;

  /**
   * @param self this manager's id: its own announcements are skipped (its commits reach its
   *     listeners directly)
   * @param changed told the nodes another manager changed; called on the listener thread, one call
   *     per received batch of notifications
   * @param missed told after the connection was lost and made again
   * @param alertHeard told each alert event (JSON) another manager announced, in order; on the
   *     listener thread
   */
  public FleetChanges(
      Database database,
      String self,
      Consumer<Set<String>> changed,
      Runnable missed,
      Consumer<String> alertHeard) {
    if (!database.vendor().equals("postgresql")) {
      throw new IllegalStateException("changes are heard on PostgreSQL only");
    }
    this.database = database;
    this.self = self;
    this.changed = changed;
    this.missed = missed;
    this.alertHeard = alertHeard;
    this.thread = Thread.ofPlatform().name("fleet-changes").daemon().unstarted(this::run);
  }

  private final java.util.concurrent.CountDownLatch listening =
      new java.util.concurrent.CountDownLatch(1);

  /**
   * Starts listening and waits (at most 5 s) until LISTEN has taken effect, so that whatever the
   * caller reads next is followed by every later change.
   */
  public void start() {
    thread.start();
    try {
      if (!listening.await(5, java.util.concurrent.TimeUnit.SECONDS)) {
        LOG.warning("not yet listening for the area's other managers' changes; going on");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    boolean warned = false;
    boolean first = true;
    while (!closed) {
      try (Connection c = database.dedicatedConnection()) {
        connection = c;
        try (Statement s = c.createStatement()) {
          s.execute("LISTEN " + CHANNEL);
          s.execute("LISTEN " + ALERT_CHANNEL);
        }
        if (warned) {
          LOG.info("hearing the area's other managers' changes again");
        }
        warned = false;
        if (!first) {
          missed.run(); // what was committed while nobody listened
        }
        first = false;
        listening.countDown();
        PGConnection pg = c.unwrap(PGConnection.class);
        while (!closed) {
          PGNotification[] batch = pg.getNotifications(500);
          if (batch == null || batch.length == 0) {
            continue;
          }
          Set<String> nodes = new LinkedHashSet<>();
          for (PGNotification n : batch) {
            String payload = n.getParameter();
            int eol = payload.indexOf('\n');
            if (eol < 0 || payload.substring(0, eol).equals(self)) {
              continue;
            }
            if (n.getName().equals(ALERT_CHANNEL)) {
              if (!nodes.isEmpty()) {
                changed.accept(nodes); // in order with what came before
                nodes = new LinkedHashSet<>();
              }
              alertHeard.accept(payload.substring(eol + 1));
              continue;
            }
            String[] lines = payload.split("\n");
            for (int i = 1; i < lines.length; i++) {
              nodes.add(lines[i]);
            }
          }
          if (!nodes.isEmpty()) {
            changed.accept(nodes);
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (closed) {
          return;
        }
        if (!warned) {
          warned = true;
          LOG.warning(
              "cannot hear the area's other managers' changes ("
                  + e.getMessage()
                  + "); retrying every second, then reading everything again");
        }
        try {
          Thread.sleep(1000);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  /**
   * Announces an alert event (its JSON) to the area's other managers. Called on the alert engine's
   * thread; one short statement on a pooled connection. An event too large for a notification is
   * not announced (the others read it from the database at their next watch).
   *
   * @throws SQLException when the database cannot be reached
   */
  public void announceAlert(String json) throws SQLException {
    String payload = self + "\n" + json;
    if (payload.getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 7900) {
      LOG.warning("an alert event too large to announce was not announced");
      return;
    }
    try (Connection c = database.connection();
        java.sql.PreparedStatement notify = c.prepareStatement("SELECT pg_notify(?, ?)")) {
      notify.setString(1, ALERT_CHANNEL);
      notify.setString(2, payload);
      notify.execute();
    }
  }

  @Override
  public void close() {
    closed = true;
    Connection c = connection;
    if (c != null) {
      try {
        c.close();
      } catch (SQLException e) {
        // closing anyway
      }
    }
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
