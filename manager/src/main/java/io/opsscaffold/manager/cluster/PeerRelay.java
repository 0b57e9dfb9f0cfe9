package io.opsscaffold.manager.cluster;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.opsscaffold.api.cluster.v1.PeerServiceGrpc;
import io.opsscaffold.api.cluster.v1.RelayReply;
import io.opsscaffold.api.cluster.v1.RelayRequest;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.manager.identity.ManagerCredentials;
import io.opsscaffold.manager.operations.CommandRouter;
import io.opsscaffold.manager.operations.Relay;
import java.net.URI;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Relays a command to the manager of the area that holds the node's stream (by its claim in etcd),
 * over mutual TLS: this manager presents its own certificate from the area's CA and trusts only
 * that CA. The caller's deadline goes with the call (the command's wait and a second), and the
 * trace context by the tracing interceptor. One channel per peer, kept.
 */
public final class PeerRelay implements Relay, AutoCloseable {
  private final EtcdStreams streams;
  private final ManagerCredentials credentials;
  private final String self;
  private final ClientInterceptor tracing;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  public PeerRelay(
      EtcdStreams streams, ManagerCredentials credentials, String self, ClientInterceptor tracing) {
    this.streams = streams;
    this.credentials = credentials;
    this.self = self;
    this.tracing = tracing;
  }

  @Override
  public boolean heldElsewhere(String nodeId) {
    return streams.heldElsewhere(nodeId);
  }

  @Override
  public CompletableFuture<CommandResult> send(
      String nodeId, Command command, String description, Duration wait) {
    CompletableFuture<CommandResult> result = new CompletableFuture<>();
    EtcdStreams.Holder holder;
    PeerServiceGrpc.PeerServiceStub stub;
    try {
      holder = holder(nodeId);
      stub =
          PeerServiceGrpc.newStub(channel(holder))
              .withDeadlineAfter(wait.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      result.completeExceptionally(e);
      return result;
    }
    stub.relay(
        request(nodeId, command, description, wait),
        new io.grpc.stub.StreamObserver<>() {
          @Override
          public void onNext(RelayReply reply) {
            if (reply.hasResult()) {
              result.complete(reply.getResult());
            }
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(failure(t, nodeId, holder));
          }

          @Override
          public void onCompleted() {
            result.completeExceptionally(
                OpsException.unavailable(
                    "manager " + holder.managerId() + " relayed no answer for " + description));
          }
        });
    return result;
  }

  @Override
  public Runnable follow(String nodeId, Command command, CommandRouter.Follow follow) {
    EtcdStreams.Holder holder = holder(nodeId);
    CompletableFuture<ClientCallStreamObserver<RelayRequest>> call = new CompletableFuture<>();
    PeerServiceGrpc.newStub(channel(holder))
        .relay(
            request(nodeId, command, "log follow", Duration.ZERO),
            new ClientResponseObserver<RelayRequest, RelayReply>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<RelayRequest> requestStream) {
                call.complete(requestStream);
              }

              @Override
              public void onNext(RelayReply reply) {
                if (reply.hasChunk()) {
                  follow.lines(reply.getChunk().getLinesList());
                }
              }

              @Override
              public void onError(Throwable t) {
                if (t instanceof StatusRuntimeException s
                    && s.getStatus().getCode() == Status.Code.CANCELLED) {
                  follow.ended(Status.OK);
                } else {
                  follow.ended(
                      io.opsscaffold.errors.ErrorMapper.toStatus(failure(t, nodeId, holder)));
                }
              }

              @Override
              public void onCompleted() {
                follow.ended(Status.OK);
              }
            });
    return () -> call.thenAccept(c -> c.cancel("the follow was stopped", null));
  }

  private RelayRequest request(String nodeId, Command command, String description, Duration wait) {
    return RelayRequest.newBuilder()
        .setNodeId(nodeId)
        .setCommand(command)
        .setWait(com.google.protobuf.util.Durations.fromMillis(wait.toMillis()))
        .setDescription(description)
        .setFromManager(self)
        .build();
  }

  private EtcdStreams.Holder holder(String nodeId) {
    Optional<EtcdStreams.Holder> h = streams.holder(nodeId);
    if (h.isEmpty() || h.get().apiUrl().isEmpty()) {
      throw OpsException.unavailable(
          "node " + nodeId + "'s daemon is not connected to any manager");
    }
    return h.get();
  }

  private static Throwable failure(Throwable t, String nodeId, EtcdStreams.Holder holder) {
    if (t instanceof StatusRuntimeException s
        && (s.getStatus().getCode() == Status.Code.UNAVAILABLE
            && s.getStatus().getDescription() != null
            && s.getStatus().getDescription().startsWith("io exception"))) {
      return OpsException.unavailable(
          "node "
              + nodeId
              + "'s daemon is connected to manager "
              + holder.managerId()
              + ", which cannot be reached now; retry");
    }
    return t;
  }

  private ManagedChannel channel(EtcdStreams.Holder holder) {
    return channels.computeIfAbsent(holder.apiUrl(), this::open);
  }

  private ManagedChannel open(String apiUrl) {
    URI u = URI.create(apiUrl);
    NettyChannelBuilder b =
        NettyChannelBuilder.forAddress(u.getHost(), u.getPort())
            .intercept(tracing)
            .keepAliveTime(30, TimeUnit.SECONDS);
    if (credentials.own().isEmpty()) {
      // The loopback-only insecure mode: plaintext, and only to a manager on this machine,
      // whatever a claim in etcd names.
      if (!Etcd.loopback(u.getHost())) {
        throw io.opsscaffold.errors.OpsException.unavailable(
            "manager at "
                + apiUrl
                + " is not on this machine, and this manager runs without TLS (tls.insecure):"
                + " calls are not relayed in plaintext");
      }
      return b.usePlaintext().build();
    }
    try {
      var own = credentials.own().get();
      return b.sslContext(
              GrpcSslContexts.forClient()
                  .trustManager(credentials.caCertificate().orElseThrow())
                  .keyManager(own.key(), own.chain().toArray(X509Certificate[]::new))
                  .build())
          .build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalStateException("cannot set up TLS towards " + apiUrl + ": " + e, e);
    }
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
