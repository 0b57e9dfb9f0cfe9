package io.opsscaffold.manager.link;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Decides whether a stream may speak for a node, from the client certificate its connection
 * presented, and renews that certificate over the stream. Thread-safe.
 */
public interface NodeAuthenticator {
  /** Labels the node's enrollment imposes; an empty field leaves the daemon's own. */
  record Imposed(String area, String zone, String business) {
    public static final Imposed NOTHING = new Imposed("", "", "");
  }

  /** Why a stream is refused; the message is for the daemon's log and names no secret. */
  final class Refused extends Exception {
    private final boolean unavailable;

    public Refused(String message, boolean unavailable) {
      super(message, null, false, false);
      this.unavailable = unavailable;
    }

    /** True when the refusal is temporary (the store of identities is unreachable). */
    public boolean unavailable() {
      return unavailable;
    }
  }

  /**
   * Admits a stream whose Hello names {@code nodeId}, from a connection that presented {@code peer}
   * (empty: no client certificate).
   *
   * @throws Refused when the certificate does not name this node, is not the node's current one, or
   *     the node is revoked
   */
  Imposed admit(String nodeId, List<X509Certificate> peer) throws Refused;

  /**
   * A renewed certificate (PEM) for the admitted node {@code nodeId}, for the key of {@code
   * csrPem}.
   *
   * @throws Refused when the request is malformed or the node was revoked meanwhile
   */
  String renew(String nodeId, String csrPem) throws Refused;

  /** Trusts what a Hello says: only for the loopback-only insecure mode. */
  NodeAuthenticator SELF_DECLARED =
      new NodeAuthenticator() {
        @Override
        public Imposed admit(String nodeId, List<X509Certificate> peer) {
          return Imposed.NOTHING;
        }

        @Override
        public String renew(String nodeId, String csrPem) throws Refused {
          throw new Refused("the manager runs without TLS: there are no certificates", false);
        }
      };
}
