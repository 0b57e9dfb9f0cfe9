package io.opsscaffold.daemon.api;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.security.Secrets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.logging.Logger;

/**
 * The daemon's local API (stop, restart, reload, logs, metrics, over gRPC and HTTP alike) answers
 * only callers holding its token: a secret the daemon keeps in {@code <data-dir>/local-api.token},
 * readable by the daemon's user only (root on a host), so a local user without that right cannot
 * operate agents. Heartbeats are not part of this API and stay open to agents.
 */
public final class LocalApiGuard implements ServerInterceptor {
  private static final Logger LOG = Logger.getLogger(LocalApiGuard.class.getName());
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String hash;

  private LocalApiGuard(String secret) {
    this.hash = Secrets.hash(secret);
  }

  /**
   * The guard of the token in {@code file}, made (0600) on the first start and kept after.
   *
   * @throws UncheckedIOException when the file can be neither read nor written
   */
  public static LocalApiGuard inFile(Path file) {
    try {
      if (Files.isRegularFile(file)) {
        return new LocalApiGuard(Files.readString(file).strip());
      }
      String secret = Secrets.secret();
      Files.createDirectories(file.toAbsolutePath().getParent());
      AtomicFiles.write(
          file,
          (secret + "\n").getBytes(StandardCharsets.UTF_8),
          PosixFilePermissions.fromString("rw-------"));
      LOG.info(() -> "the local API's token is in " + file + " (readable by this user only)");
      return new LocalApiGuard(secret);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot keep the local API's token in " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String auth = headers.get(AUTHORIZATION);
    if (auth != null
        && auth.regionMatches(true, 0, "bearer ", 0, 7)
        && Secrets.matches(hash, auth.substring(7).strip())) {
      return next.startCall(call, headers);
    }
    Status status =
        Status.UNAUTHENTICATED.withDescription(
            auth == null
                ? "the local API needs its token: Authorization: Bearer <data-dir/local-api.token>"
                : "the token is not the local API's (data-dir/local-api.token)");
    return io.opsscaffold.errors.Refusal.refuse(call, status);
  }
}
