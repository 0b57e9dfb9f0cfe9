package io.opsscaffold.manager.persistence;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** The few JDBC moves the repositories share: read rows, count, replace a row by its key. */
final class Jdbc {
  /** Maps the current row of a result set. */
  interface RowReader<T> {
    T read(ResultSet rs) throws SQLException;
  }

  private Jdbc() {}

  /** Every row {@code sql} returns, mapped by {@code reader}. */
  static <T> List<T> query(Database db, String sql, RowReader<T> reader, Object... args) {
    List<T> rows = new ArrayList<>();
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(reader.read(rs));
        }
      }
    } catch (SQLException e) {
      throw DataAccessException.of("a query", e);
    }
    return rows;
  }

  /** Runs one INSERT, UPDATE or DELETE; returns how many rows it changed. */
  static int update(Database db, String sql, Object... args) {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      return ps.executeUpdate();
    } catch (SQLException e) {
      throw DataAccessException.of("an update", e);
    }
  }

  /** The single number {@code sql} returns (a COUNT). */
  static long count(Database db, String sql, Object... args) {
    return query(db, sql, rs -> rs.getLong(1), args).get(0);
  }

  /**
   * Replaces the row of {@code table} whose {@code keyColumn} is {@code values[0]} with {@code
   * values} (in the order of {@code columns}), in one transaction.
   */
  static void replace(
      Database db, String table, String keyColumn, String columns, Object... values) {
    String marks = "?" + ", ?".repeat(values.length - 1);
    try (Connection c = db.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement del =
              c.prepareStatement("DELETE FROM " + table + " WHERE " + keyColumn + " = ?");
          PreparedStatement ins =
              c.prepareStatement(
                  "INSERT INTO " + table + " (" + columns + ") VALUES (" + marks + ")")) {
        bind(del, values[0]);
        del.executeUpdate();
        bind(ins, values);
        ins.executeUpdate();
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw DataAccessException.of("writing " + table + " row " + values[0], e);
    }
  }

  /**
   * Binds each argument; a {@code String[]} becomes an SQL array of varchar (for {@code = ANY(?)}).
   */
  private static void bind(PreparedStatement ps, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      if (args[i] instanceof String[] array) {
        ps.setArray(i + 1, ps.getConnection().createArrayOf("varchar", array));
      } else {
        ps.setObject(i + 1, args[i]);
      }
    }
  }
}
