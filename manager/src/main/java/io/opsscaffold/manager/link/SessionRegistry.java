package io.opsscaffold.manager.link;

import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The live link session of each connected node. Thread-safe; never blocks. */
public final class SessionRegistry {
  private final ConcurrentHashMap<String, LinkSession> sessions = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.LongAdder opened =
      new java.util.concurrent.atomic.LongAdder();

  private volatile StreamClaims claims = StreamClaims.NONE;

  /** Announces every session registered or ended from now on to {@code claims}. */
  public void announceTo(StreamClaims claims) {
    this.claims = claims;
  }

  /** Makes {@code session} the node's session; returns the one it replaces, if any. */
  Optional<LinkSession> register(LinkSession session) {
    opened.increment();
    Optional<LinkSession> replaced = Optional.ofNullable(sessions.put(session.nodeId(), session));
    claims.claimed(session.nodeId(), session.sessionId());
    return replaced;
  }

  /** Sessions registered since the manager started (connects and reconnects). */
  public long opened() {
    return opened.sum();
  }

  /** Removes {@code session} if it is still the node's session; true when it was. */
  boolean unregister(LinkSession session) {
    boolean was = session.nodeId() != null && sessions.remove(session.nodeId(), session);
    if (was) {
      claims.released(session.nodeId(), session.sessionId());
    }
    return was;
  }

  /** The session id of each node whose stream is held here. */
  public java.util.Map<String, String> held() {
    java.util.Map<String, String> out = new java.util.HashMap<>();
    sessions.forEach((node, s) -> out.put(node, s.sessionId()));
    return out;
  }

  public Optional<LinkSession> find(String nodeId) {
    return Optional.ofNullable(sessions.get(nodeId));
  }

  /**
   * Closes the node's live stream, if it has one, with PERMISSION_DENIED and {@code reason}; true
   * when one was closed. Never blocks.
   */
  public boolean disconnect(String nodeId, String reason) {
    LinkSession session = sessions.get(nodeId);
    if (session == null) {
      return false;
    }
    session.close(io.grpc.Status.PERMISSION_DENIED.withDescription(reason));
    return true;
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
