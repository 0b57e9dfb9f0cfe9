package io.opsscaffold.cli;

/** A failure the CLI reports as one line, with its exit code. */
final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Exit codes, one per kind of failure a script may want to tell apart. */
  static final int FAILED = 1;

  static final int USAGE = 2;
  static final int NOT_FOUND = 3;
  static final int DENIED = 4;
  static final int UNAVAILABLE = 5;
  static final int PARTIAL = 6;

  private final int exitCode;

  CliException(int exitCode, String message) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
