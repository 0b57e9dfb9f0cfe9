package io.opsscaffold.platform;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.security.Pem;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Channels to controllers: one per manager API URL, over TLS verified against the area's CA ({@code
 * controller.ca-file} or {@code controller.ca-files.<area>}), every call carrying the area's bearer
 * token. Plaintext only with {@code controller.insecure: true}, and then only to a manager on this
 * machine's loopback, whatever a record in etcd names. Thread-safe.
 */
final class Controllers implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Controllers.class.getName());
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final PlatformSettings.Controllers settings;
  private final ClientInterceptor tracing;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  /** Why a controller cannot be called; the message names the setting or the address. */
  static final class Unreachable extends RuntimeException {
    Unreachable(String message) {
      super(message);
    }
  }

  Controllers(PlatformSettings.Controllers settings, ClientInterceptor tracing) {
    this.settings = settings;
    this.tracing = tracing;
  }

  /**
   * A channel to the controller at {@code api} of {@code area}, with its token attached.
   *
   * @throws Unreachable when the platform's settings do not allow or equip calling it
   */
  Channel channel(String area, String api) {
    URI u;
    try {
      u = URI.create(api);
    } catch (IllegalArgumentException e) {
      throw new Unreachable("its registered API URL '" + api + "' is not a URL");
    }
    if (u.getHost() == null || u.getPort() < 0) {
      throw new Unreachable("its registered API URL '" + api + "' has no host and port");
    }
    boolean tls = "https".equals(u.getScheme());
    if (!tls && !(settings.insecure() && loopback(u.getHost()))) {
      throw new Unreachable(
          "its API "
              + api
              + " is plaintext; the platform calls controllers over TLS (plaintext only with"
              + " controller.insecure: true, to a loopback address)");
    }
    Optional<String> token = token(area);
    ManagedChannel ch = channels.computeIfAbsent(area + " " + api, k -> open(area, u, tls));
    return io.grpc.ClientInterceptors.intercept(ch, bearer(token), tracing);
  }

  private ManagedChannel open(String area, URI u, boolean tls) {
    NettyChannelBuilder b =
        NettyChannelBuilder.forAddress(u.getHost(), u.getPort())
            .keepAliveTime(30, TimeUnit.SECONDS)
            .maxInboundMessageSize(64 * 1024 * 1024);
    if (!tls) {
      LOG.warning(
          "calling area "
              + area
              + "'s controller at "
              + u
              + " in PLAINTEXT (controller.insecure: true): use it only on this machine");
      return b.usePlaintext().build();
    }
    Path ca =
        settings
            .caFor(area)
            .orElseThrow(
                () ->
                    new Unreachable(
                        "controller.ca-file (or controller.ca-files."
                            + area
                            + ") is not set: the platform cannot verify its certificate"));
    try {
      X509Certificate cert = Pem.certificates(Files.readString(ca)).getFirst();
      return b.sslContext(GrpcSslContexts.forClient().trustManager(cert).build()).build();
    } catch (IOException | RuntimeException e) {
      LOG.warning("the CA file " + ca + " for area " + area + " cannot be used: " + e);
      throw new Unreachable(
          "the CA set for area " + area + " cannot be read as a PEM certificate (see the log)");
    }
  }

  private Optional<String> token(String area) {
    Optional<Path> file = settings.tokenFor(area);
    if (file.isEmpty()) {
      if (settings.insecure()) {
        return Optional.empty(); // a loopback manager in insecure mode takes calls without one
      }
      throw new Unreachable(
          "controller.token-file (or controller.token-files." + area + ") is not set");
    }
    // Read again at most every TOKEN_REREAD_MS (a rotated token is picked up), not on every call.
    long now = System.nanoTime();
    ReadToken cached = tokens.get(file.get());
    if (cached != null && now - cached.atNanos() < TOKEN_REREAD_NANOS) {
      return Optional.of(cached.token());
    }
    try {
      String token = Files.readString(file.get()).strip();
      tokens.put(file.get(), new ReadToken(token, now));
      return Optional.of(token);
    } catch (IOException e) {
      throw new Unreachable("the token file for area " + area + " cannot be read");
    }
  }

  /** A token file's content and when it was read. */
  private record ReadToken(String token, long atNanos) {}

  private static final long TOKEN_REREAD_NANOS = TimeUnit.SECONDS.toNanos(5);
  private final Map<Path, ReadToken> tokens = new ConcurrentHashMap<>();

  private static ClientInterceptor bearer(Optional<String> token) {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(
          MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(
            next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            token.ifPresent(t -> headers.put(AUTHORIZATION, "Bearer " + t));
            super.start(listener, headers);
          }
        };
      }
    };
  }

  static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** Closes the channels to controllers no longer registered. */
  void retain(java.util.Set<String> areaAndApi) {
    channels
        .entrySet()
        .removeIf(
            e -> {
              if (areaAndApi.contains(e.getKey())) {
                return false;
              }
              e.getValue().shutdown();
              return true;
            });
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
