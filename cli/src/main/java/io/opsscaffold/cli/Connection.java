package io.opsscaffold.cli;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.opsscaffold.security.TlsContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The channel to a context's manager: TLS trusting its CA, the token on every call. */
final class Connection implements AutoCloseable {
  private final ManagedChannel channel;
  private final ClientInterceptor auth;
  private final boolean platform;

  Connection(Contexts.Context context) {
    this.platform = context.platform();
    OkHttpChannelBuilder b = OkHttpChannelBuilder.forTarget(context.address());
    if (context.caFile().isPresent()) {
      X509Certificate ca;
      // The JDK's own PEM reading: it spares a command the start-up of BouncyCastle.
      try (var in = Files.newInputStream(context.caFile().get())) {
        ca =
            (X509Certificate)
                java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
      } catch (IOException | java.security.cert.CertificateException e) {
        throw new CliException(
            CliException.USAGE,
            "the CA certificate " + context.caFile().get() + " cannot be read: " + e.getMessage());
      }
      b.sslSocketFactory(TlsContexts.create(Optional.empty(), List.of(ca)).getSocketFactory());
    } else {
      // Plaintext only towards this machine: a manager in its loopback-only insecure mode. Never
      // a token in clear over a network, whatever the context or the environment says.
      if (!loopback(context.address())) {
        throw new CliException(
            CliException.USAGE,
            "no CA to trust for "
                + context.address()
                + ": plaintext is only for a manager on this machine; log in with --ca or"
                + " --ca-fingerprint, or set OPSCTL_CA");
      }
      System.err.println(
          "opsctl: warning: plaintext to "
              + context.address()
              + " (a manager in its insecure mode on this machine)");
      b.usePlaintext();
    }
    this.channel = b.build();
    Metadata h = new Metadata();
    if (!context.token().isBlank()) {
      h.put(
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + context.token());
    }
    this.auth = MetadataUtils.newAttachHeadersInterceptor(h);
  }

  /** Whether this is a platform service (the view across areas) rather than a manager. */
  boolean platform() {
    return platform;
  }

  /** Whether {@code address} ({@code host:port}) is on this machine. */
  static boolean loopback(String address) {
    String host = java.net.URI.create("tcp://" + address).getHost();
    try {
      return host != null && java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  /** {@code stub} with the token and a deadline. */
  <S extends AbstractStub<S>> S unary(S stub) {
    return stub.withInterceptors(auth).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  /** {@code stub} with the token, for streams that last. */
  <S extends AbstractStub<S>> S streaming(S stub) {
    return stub.withInterceptors(auth);
  }

  ManagedChannel channel() {
    return channel;
  }

  /** A gRPC failure as the one line and exit code the CLI reports. */
  static CliException explain(StatusRuntimeException e) {
    Status s = e.getStatus();
    String what = s.getDescription() == null ? s.getCode().name() : s.getDescription();
    return switch (s.getCode()) {
      case NOT_FOUND -> new CliException(CliException.NOT_FOUND, "not found: " + what);
      case UNAUTHENTICATED ->
          new CliException(
              CliException.DENIED,
              "not authenticated: "
                  + what
                  + " (log in again: opsctl login <address> --token-file …)");
      case PERMISSION_DENIED -> new CliException(CliException.DENIED, "denied: " + what);
      case UNAVAILABLE, DEADLINE_EXCEEDED ->
          new CliException(
              CliException.UNAVAILABLE,
              "unavailable: "
                  + (s.getCause() != null && s.getDescription() == null
                      ? s.getCause().getMessage()
                      : what)
                  + " (is the manager up, and is this its address?)");
      case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE ->
          new CliException(CliException.USAGE, "invalid: " + what);
      default -> new CliException(CliException.FAILED, s.getCode() + ": " + what);
    };
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
