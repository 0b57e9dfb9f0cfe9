package io.opsscaffold.daemon.link;

import java.time.Duration;

/**
 * How the daemon keeps its stream to the manager.
 *
 * @param address manager {@code host:port}
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
    ManagerTrust trust) {}
