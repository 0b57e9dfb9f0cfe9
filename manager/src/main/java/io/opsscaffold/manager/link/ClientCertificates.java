package io.opsscaffold.manager.link;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * The client certificate chain of the connection the current gRPC call arrived on (empty for a
 * plaintext connection or a client that presented none). Call it on the call's own thread, in the
 * service method: Helidon keeps the connection in the call's context.
 */
public final class ClientCertificates {
  private ClientCertificates() {}

  /** The current call's client certificates, leaf first. */
  public static List<X509Certificate> ofCurrentCall() {
    List<X509Certificate> chain = new ArrayList<>();
    io.helidon.webserver.grpc.GrpcConnectionContext connection =
        io.helidon.webserver.grpc.ServerContextKeys.CONNECTION_CONTEXT.get();
    if (connection != null) {
      connection
          .remotePeer()
          .tlsCertificates()
          .ifPresent(
              certs -> {
                for (Certificate c : certs) {
                  if (c instanceof X509Certificate x) {
                    chain.add(x);
                  }
                }
              });
    }
    return chain;
  }

  /** The current call's remote address, {@code host:port}, or "?". */
  public static String remoteOfCurrentCall() {
    io.helidon.webserver.grpc.GrpcConnectionContext connection =
        io.helidon.webserver.grpc.ServerContextKeys.CONNECTION_CONTEXT.get();
    return connection == null
        ? "?"
        : connection.remotePeer().host() + ":" + connection.remotePeer().port();
  }
}
