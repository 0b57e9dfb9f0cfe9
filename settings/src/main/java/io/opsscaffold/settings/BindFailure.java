package io.opsscaffold.settings;

import java.io.UncheckedIOException;
import java.net.BindException;

/**
 * The one clear line an app stops with when its server cannot listen where its settings say,
 * instead of a stack trace or a process that runs with no listener.
 */
public final class BindFailure {
  private BindFailure() {}

  /** The error for a server that could not bind {@code host:port} ({@code server.*}). */
  public static UncheckedIOException of(String host, int port) {
    return new UncheckedIOException(
        "cannot listen on "
            + host
            + ":"
            + port
            + " (server.host, server.port): the address is in use or not available here",
        new BindException());
  }
}
