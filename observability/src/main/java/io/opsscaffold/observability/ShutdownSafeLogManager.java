package io.opsscaffold.observability;

import java.util.logging.LogManager;

/**
 * The JDK's LogManager, except that its own shutdown hook does not reset it. The JDK resets logging
 * from a shutdown hook that runs concurrently with the application's hooks, so whatever those log
 * while stopping (agents being stopped, streams closed) was lost. Handlers here flush per record,
 * so nothing is left unwritten at exit. Installed by {@link JsonLogging#install}.
 */
public final class ShutdownSafeLogManager extends LogManager {
  @Override
  public void reset() {
    if (Thread.currentThread().getClass().getName().startsWith(LogManager.class.getName() + "$")) {
      return; // the JDK's shutdown cleaner
    }
    super.reset();
  }
}
