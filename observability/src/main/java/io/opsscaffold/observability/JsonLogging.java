package io.opsscaffold.observability;

import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/** Switches the process's java.util.logging output (which Helidon also uses) to JSON lines. */
public final class JsonLogging {
  private JsonLogging() {}

  /**
   * Replaces the root handlers with one that writes JSON lines to stderr. Call first thing in
   * {@code main}, before anything touches java.util.logging (so no static loggers in main classes):
   * only then can it install {@link ShutdownSafeLogManager}, which keeps shutdown logs.
   */
  public static void install(String service, Level level) {
    if (System.getProperty("java.util.logging.manager") == null) {
      System.setProperty("java.util.logging.manager", ShutdownSafeLogManager.class.getName());
    }
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    Handler handler = new ConsoleHandler();
    handler.setFormatter(new JsonLogFormatter(service));
    handler.setLevel(level);
    root.addHandler(handler);
    root.setLevel(level);
  }
}
