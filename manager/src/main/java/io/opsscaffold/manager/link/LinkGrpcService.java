package io.opsscaffold.manager.link;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.ManagerMessage;

/** gRPC adapter of the daemon link: each Connect call becomes a {@link LinkSession}. */
public final class LinkGrpcService extends DaemonLinkServiceGrpc.DaemonLinkServiceImplBase {
  private final LinkSession.Context context;

  LinkGrpcService(LinkSession.Context context) {
    this.context = context;
  }

  /**
   * Wires a link endpoint; sessions register in {@code registry} and write through {@code writer}.
   */
  public static LinkGrpcService create(
      SessionRegistry registry,
      StateWriter writer,
      ConnectivityTracker connectivity,
      LinkSession.CommandResults results,
      java.time.Clock clock,
      java.time.Duration pingInterval,
      NodeAuthenticator authenticator) {
    return new LinkGrpcService(
        new LinkSession.Context(
            registry, writer, connectivity, results, clock, pingInterval, authenticator));
  }

  @Override
  public StreamObserver<DaemonMessage> connect(StreamObserver<ManagerMessage> responseObserver) {
    java.util.List<java.security.cert.X509Certificate> peer = ClientCertificates.ofCurrentCall();
    String remote = ClientCertificates.remoteOfCurrentCall();
    return new LinkSession(
        context, (ServerCallStreamObserver<ManagerMessage>) responseObserver, peer, remote);
  }
}
