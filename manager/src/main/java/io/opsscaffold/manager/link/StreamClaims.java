package io.opsscaffold.manager.link;

/**
 * Where the streams this manager holds are announced to the area's other managers (on etcd: {@code
 * cluster.EtcdStreams}). Called by the {@link SessionRegistry} on the transport thread that opened
 * or ended the session: implementations must not block.
 */
public interface StreamClaims {
  /** The node's stream is now held here, as session {@code sessionId}. */
  void claimed(String nodeId, String sessionId);

  /** Session {@code sessionId} of the node, held here, ended. */
  void released(String nodeId, String sessionId);

  /** A manager alone: nobody to tell. */
  StreamClaims NONE =
      new StreamClaims() {
        @Override
        public void claimed(String nodeId, String sessionId) {}

        @Override
        public void released(String nodeId, String sessionId) {}
      };
}
