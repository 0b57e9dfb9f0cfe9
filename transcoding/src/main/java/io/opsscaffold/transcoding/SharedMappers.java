package io.opsscaffold.transcoding;

import io.helidon.common.mapper.MapperManager;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Pins one Helidon {@link MapperManager} as the global one. Until something sets it, Helidon 4.4
 * looks the global manager up in its service registry on every call, and that service is
 * per-lookup: each call builds a new manager and looks up every mapper provider. Helidon's HTTP/1.1
 * connection makes that call for every request with a {@code Content-Length} (it reads the length
 * as a {@code long} through the mappers), which made it the largest single cost of a daemon
 * heartbeat. Call once at startup, before the web server is built.
 */
public final class SharedMappers {
  private static final AtomicBoolean INSTALLED = new AtomicBoolean();

  private SharedMappers() {}

  /**
   * Makes every later {@link MapperManager#global()} return one manager; later calls do nothing.
   */
  public static void install() {
    if (INSTALLED.compareAndSet(false, true)) {
      MapperManager.global(MapperManager.create());
    }
  }
}
