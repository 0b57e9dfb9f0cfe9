package io.opsscaffold.manager.operations;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.cluster.v1.PeerServiceGrpc;
import io.opsscaffold.api.cluster.v1.RelayReply;
import io.opsscaffold.api.cluster.v1.RelayRequest;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.LogChunk;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.manager.link.LinkSession;
import io.opsscaffold.manager.link.SessionRegistry;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The relay's far end: another manager of the area sends a command for a node whose stream this
 * manager holds; it goes down that stream like this manager's own, and the daemon's answer (or the
 * followed log) goes back. Only managers of the area may call: the connection's client certificate
 * must be one the area's CA issued to a manager ({@code OU=manager}).
 */
public final class PeerGrpcService extends PeerServiceGrpc.PeerServiceImplBase {
  private static final Logger LOG = Logger.getLogger(PeerGrpcService.class.getName());

  private final SessionRegistry registry;
  private final CommandRouter router;
  private final Function<List<X509Certificate>, Optional<String>> managerOf;
  private final String self;

  /**
   * @param managerOf the manager a client certificate chain names, if the area's CA issued it to
   *     one; in the loopback-only insecure mode, any caller
   */
  public PeerGrpcService(
      SessionRegistry registry,
      CommandRouter router,
      Function<List<X509Certificate>, Optional<String>> managerOf,
      String self) {
    this.registry = registry;
    this.router = router;
    this.managerOf = managerOf;
    this.self = self;
  }

  @Override
  public void relay(RelayRequest req, StreamObserver<RelayReply> out) {
    Optional<String> caller =
        managerOf.apply(io.opsscaffold.manager.link.ClientCertificates.ofCurrentCall());
    if (caller.isEmpty()) {
      out.onError(
          Status.PERMISSION_DENIED
              .withDescription("only the area's managers may relay (a manager certificate)")
              .asRuntimeException());
      return;
    }
    Optional<LinkSession> session = registry.find(req.getNodeId());
    if (session.isEmpty()) {
      out.onError(
          Status.UNAVAILABLE
              .withDescription(
                  "node "
                      + req.getNodeId()
                      + "'s stream is no longer held by manager "
                      + self
                      + "; ask again")
              .asRuntimeException());
      return;
    }
    Command command = req.getCommand();
    if (command.hasFollowLogs()) {
      Runnable stop =
          router.follow(
              session.get(),
              command,
              new CommandRouter.Follow() {
                @Override
                public void lines(List<String> lines) {
                  synchronized (out) {
                    out.onNext(
                        RelayReply.newBuilder()
                            .setChunk(
                                LogChunk.newBuilder()
                                    .setCommandId(command.getCommandId())
                                    .addAllLines(lines))
                            .build());
                  }
                }

                @Override
                public void ended(Status status) {
                  synchronized (out) {
                    if (status.isOk()) {
                      out.onCompleted();
                    } else {
                      out.onError(status.asRuntimeException());
                    }
                  }
                }
              });
      ((ServerCallStreamObserver<RelayReply>) out).setOnCancelHandler(stop::run);
      return;
    }
    Duration wait =
        Duration.ofMillis(
            Math.max(1000, com.google.protobuf.util.Durations.toMillis(req.getWait())));
    LOG.fine(() -> "relaying " + req.getDescription() + " for manager " + caller.get());
    router
        .send(session.get(), command, req.getDescription(), wait)
        .whenComplete(
            (result, error) -> {
              if (error != null) {
                out.onError(ErrorMapper.toStatus(error).asRuntimeException());
              } else {
                out.onNext(RelayReply.newBuilder().setResult(result).build());
                out.onCompleted();
              }
            });
  }
}
