package io.opsscaffold.daemon.api;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.observability.JsonText;
import io.opsscaffold.security.Secrets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Who may use the daemon's local API (stop, restart, reload, logs, metrics, over gRPC and HTTP):
 * whoever can open its Unix socket ({@code server.api-socket}, mode 0600: the daemon's user, root
 * on a host), whose relay's connections to the port are known ({@link RelayedConnections}); and,
 * only with {@code server.local-api-tcp: true}, TCP callers holding the token the daemon keeps in
 * {@code <data-dir>/local-api.token} (0600). The gRPC routing's interceptor and the HTTP routing's
 * filter; heartbeats are not part of this API and stay open to agents.
 */
public final class LocalApiGuard implements ServerInterceptor, Filter {
  private static final Logger LOG = Logger.getLogger(LocalApiGuard.class.getName());
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String hash;
  private final boolean tcp;
  private final Optional<Path> socket;
  private final RelayedConnections self;

  private LocalApiGuard(
      String secret, boolean tcp, Optional<Path> socket, RelayedConnections self) {
    this.hash = Secrets.hash(secret);
    this.tcp = tcp;
    this.socket = socket;
    this.self = self;
  }

  /**
   * The guard of the token in {@code file} (made 0600 on the first start and kept after).
   *
   * @param tcp whether TCP callers with the token are let in
   * @param socket the Unix socket the API is served on, for refusals to name
   * @throws UncheckedIOException when the file can be neither read nor written
   */
  public static LocalApiGuard inFile(
      Path file, boolean tcp, Optional<Path> socket, RelayedConnections self) {
    try {
      if (Files.isRegularFile(file)) {
        return new LocalApiGuard(Files.readString(file).strip(), tcp, socket, self);
      }
      String secret = Secrets.secret();
      Files.createDirectories(file.toAbsolutePath().getParent());
      AtomicFiles.write(
          file,
          (secret + "\n").getBytes(StandardCharsets.UTF_8),
          PosixFilePermissions.fromString("rw-------"));
      LOG.info(() -> "the local API's token is in " + file + " (readable by this user only)");
      return new LocalApiGuard(secret, tcp, socket, self);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot keep the local API's token in " + file + ": " + e.getMessage(), e);
    }
  }

  /** Why a call is refused, or empty when it may go on. */
  private Optional<Status> refusal(String auth, boolean fromSocket) {
    if (fromSocket) {
      return Optional.empty();
    }
    if (!tcp) {
      return Optional.of(
          Status.PERMISSION_DENIED.withDescription(
              "the local API is served on the daemon's Unix socket (server.api-socket, by default"
                  + " <data-dir>/api.sock, for the daemon's user)"
                  + (socket.isEmpty() ? ", which is turned off here" : "")
                  + "; over TCP only with server.local-api-tcp: true"));
    }
    if (auth != null
        && auth.regionMatches(true, 0, "bearer ", 0, 7)
        && Secrets.matches(hash, auth.substring(7).strip())) {
      return Optional.empty();
    }
    return Optional.of(
        Status.UNAUTHENTICATED.withDescription(
            auth == null
                ? "the local API needs its token: Authorization: Bearer <data-dir/local-api.token>"
                : "the token is not the local API's (data-dir/local-api.token)"));
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    var connection = io.helidon.webserver.grpc.ServerContextKeys.CONNECTION_CONTEXT.get();
    boolean fromSocket =
        connection != null
            && connection.remotePeer().address() instanceof InetSocketAddress client
            && self.relayed(client);
    Optional<Status> refused = refusal(headers.get(AUTHORIZATION), fromSocket);
    if (refused.isEmpty()) {
      return next.startCall(call, headers);
    }
    return io.opsscaffold.errors.Refusal.refuse(call, refused.get());
  }

  @Override
  public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
    if (req.path().path().equals("/heartbeat")) {
      chain.proceed();
      return;
    }
    boolean fromSocket =
        req.remotePeer().address() instanceof InetSocketAddress client && self.relayed(client);
    Optional<String> auth =
        req.headers().contains(HeaderNames.AUTHORIZATION)
            ? Optional.of(req.headers().get(HeaderNames.AUTHORIZATION).values())
            : Optional.empty();
    Optional<Status> refused = refusal(auth.orElse(null), fromSocket);
    if (refused.isEmpty()) {
      chain.proceed();
      return;
    }
    Status status = refused.get();
    res.status(status.getCode() == Status.Code.UNAUTHENTICATED ? 401 : 403);
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(
        ("{\"code\":"
                + status.getCode().value()
                + ",\"status\":"
                + JsonText.quote(status.getCode().name())
                + ",\"message\":"
                + JsonText.quote(status.getDescription())
                + "}")
            .getBytes(StandardCharsets.UTF_8));
  }
}
