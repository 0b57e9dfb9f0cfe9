package io.opsscaffold.daemon.api;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The TCP connections the local API's Unix socket relay holds to the daemon's port, by their local
 * address: registered before the relay sends a byte, removed when it closes. No other socket can
 * have the same address and port meanwhile (the relay's is bound and not shared), so a call
 * arriving from one of them came through the Unix socket. Thread-safe.
 */
public final class RelayedConnections {
  private final Set<InetSocketAddress> open = ConcurrentHashMap.newKeySet();

  void opened(InetSocketAddress local) {
    open.add(local);
  }

  void closed(InetSocketAddress local) {
    open.remove(local);
  }

  /** Whether a connection from {@code client} is one of the relay's. */
  public boolean relayed(InetSocketAddress client) {
    return open.contains(client);
  }
}
