package io.opsscaffold.manager.persistence;

/** A database operation failed; the cause says why. Unchecked: callers cannot repair it. */
public final class DataAccessException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public DataAccessException(String message, Throwable cause) {
    super(message, cause);
  }
}
