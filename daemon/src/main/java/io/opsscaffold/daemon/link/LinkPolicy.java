package io.opsscaffold.daemon.link;

import java.time.Duration;

/**
 * How the daemon keeps its stream to the manager.
 *
 * @param address the manager's {@code host:port}, or several separated by commas (the area's
 *     managers: the daemon moves to the next when its manager fails); a name resolving to several
 *     addresses is tried address by address by gRPC itself
 * @param reconnectInitial first reconnect delay (doubles per failure, with jitter)
 * @param reconnectMax largest reconnect delay
 * @param pingInterval keepalive period until the manager's Welcome sets its own
 * @param coalesce how long to linger after a change so that simultaneous changes share a message
 * @param statsInterval how often the host's measurements are sent
 * @param trust how the daemon knows it talks to its own manager
 */
public record LinkPolicy(
    String address,
    Duration reconnectInitial,
    Duration reconnectMax,
    Duration pingInterval,
    Duration coalesce,
    Duration statsInterval,
    ManagerTrust trust) {

  /** Each manager's {@code host:port}, in the configured order. */
  public java.util.List<String> addresses() {
    return java.util.Arrays.stream(address.split(","))
        .map(String::strip)
        .filter(a -> !a.isEmpty())
        .toList();
  }
}
