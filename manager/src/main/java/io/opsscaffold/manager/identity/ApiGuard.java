package io.opsscaffold.manager.identity;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Map;
import java.util.Optional;

/**
 * Authenticates API calls by their bearer token and checks the role a method needs; over HTTP the
 * transcoder passes the {@code Authorization} header as call metadata, so both paths meet here.
 * Methods not in {@code required} need no credential (the principal is still made known when one is
 * sent). Refusals name the missing permission, never the secret.
 */
public final class ApiGuard implements ServerInterceptor {
  private static final Context.Key<Principal> KEY = Context.key("ops-principal");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final ApiTokens tokens;
  private final Map<String, Role> required;

  /**
   * @param required the role each guarded method needs, by full method name ({@code
   *     package.Service/Method}) or by service ({@code package.Service})
   */
  public ApiGuard(ApiTokens tokens, Map<String, Role> required) {
    this.tokens = tokens;
    this.required = Map.copyOf(required);
  }

  /** The authenticated principal of the call on this thread, if any. */
  public static Optional<Principal> current() {
    return Optional.ofNullable(KEY.get());
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Role needed = required.get(method);
    if (needed == null) {
      needed = required.get(call.getMethodDescriptor().getServiceName());
    }
    String auth = headers.get(AUTHORIZATION);
    Optional<Principal> principal = Optional.empty();
    if (auth != null && auth.regionMatches(true, 0, "bearer ", 0, 7)) {
      principal = tokens.authenticate(auth.substring(7));
      if (principal.isEmpty()) {
        return refuse(
            call,
            Status.UNAUTHENTICATED.withDescription(
                "the bearer token is not valid (unknown, expired or revoked)"));
      }
    }
    if (needed != null) {
      if (principal.isEmpty()) {
        return refuse(
            call,
            Status.UNAUTHENTICATED.withDescription(
                "this call needs a bearer token (Authorization: Bearer <token>)"));
      }
      if (!principal.get().role().allows(needed)) {
        return refuse(
            call,
            Status.PERMISSION_DENIED.withDescription(
                "this call needs the "
                    + needed.text()
                    + " role; token "
                    + principal.get().name()
                    + " has "
                    + principal.get().role().text()));
      }
    }
    if (principal.isEmpty()) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(
        Context.current().withValue(KEY, principal.get()), call, headers, next);
  }

  /**
   * Ends the call with {@code status} at its first event: Helidon's gRPC server fails when a call
   * is closed before the interceptor has returned its listener.
   */
  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    java.util.concurrent.atomic.AtomicBoolean closed =
        new java.util.concurrent.atomic.AtomicBoolean();
    Runnable close =
        () -> {
          if (closed.compareAndSet(false, true)) {
            call.close(status, new Metadata());
          }
        };
    return new ServerCall.Listener<>() {
      @Override
      public void onReady() {
        close.run();
      }

      @Override
      public void onMessage(Q message) {
        close.run();
      }

      @Override
      public void onHalfClose() {
        close.run();
      }
    };
  }
}
