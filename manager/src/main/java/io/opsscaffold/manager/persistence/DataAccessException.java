package io.opsscaffold.manager.persistence;

/** A database operation failed; the cause says why. Unchecked: callers cannot repair it. */
public final class DataAccessException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DataAccessException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * The failure of {@code what} as callers should see it: the database not being reachable (no
   * connection within the connect timeout, a connection that broke, a server shutting down or
   * starting) is UNAVAILABLE, to retry in a few seconds; anything else is a DataAccessException
   * (INTERNAL, its details only in the log).
   */
  public static RuntimeException of(String what, java.sql.SQLException e) {
    if (unreachable(e)) {
      return io.opsscaffold.errors.OpsException.unavailable(
          "the database is not reachable right now (" + what + "); retry in a few seconds");
    }
    return new DataAccessException(what + " failed", e);
  }

  static boolean unreachable(java.sql.SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.sql.SQLTransientConnectionException
          || t instanceof java.sql.SQLNonTransientConnectionException) {
        return true;
      }
      if (t instanceof java.sql.SQLException s && s.getSQLState() != null) {
        String state = s.getSQLState();
        // 08: connection exceptions; 57P01-57P03: the server is shutting down or starting.
        if (state.startsWith("08") || state.startsWith("57P")) {
          return true;
        }
      }
    }
    return false;
  }
}
