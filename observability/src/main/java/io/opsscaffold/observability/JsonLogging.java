package io.opsscaffold.observability;

import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

/** Switches the process's java.util.logging output (which Helidon also uses) to JSON lines. */
public final class JsonLogging {
  private static volatile JsonLogFormatter formatter;

  private JsonLogging() {}

  /** Adds {@code name: value} to every log line from now on; no-op before {@link #install}. */
  public static void addField(String name, String value) {
    JsonLogFormatter f = formatter;
    if (f != null) {
      f.addField(name, value);
    }
  }

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
    formatter = new JsonLogFormatter(service);
    handler.setFormatter(formatter);
    handler.setLevel(level);
    root.addHandler(handler);
    root.setLevel(level);
  }
}
