package io.opsscaffold.manager.link;

import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The live link session of each connected node. Thread-safe; never blocks. */
public final class SessionRegistry {
  private final ConcurrentHashMap<String, LinkSession> sessions = new ConcurrentHashMap<>();

  /** Makes {@code session} the node's session; returns the one it replaces, if any. */
  Optional<LinkSession> register(LinkSession session) {
    return Optional.ofNullable(sessions.put(session.nodeId(), session));
  }

  /** Removes {@code session} if it is still the node's session; true when it was. */
  boolean unregister(LinkSession session) {
    return session.nodeId() != null && sessions.remove(session.nodeId(), session);
  }

  public Optional<LinkSession> find(String nodeId) {
    return Optional.ofNullable(sessions.get(nodeId));
  }

  public boolean connected(String nodeId) {
    return sessions.containsKey(nodeId);
  }

  Collection<LinkSession> all() {
    return sessions.values();
  }

  public int size() {
    return sessions.size();
  }
}
