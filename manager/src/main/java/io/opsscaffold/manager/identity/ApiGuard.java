package io.opsscaffold.manager.identity;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;

/**
 * Authenticates every API call by its bearer token and checks the role its method needs in {@link
 * ApiPermissions}; over HTTP the transcoder passes the {@code Authorization} header as call
 * metadata, so both paths meet here. Open methods need no credential (the principal is still made
 * known when one is sent); a method missing from the table is refused. Refusals name the missing
 * permission, never the secret. In the loopback-only insecure mode a call without a credential is
 * made by {@link #INSECURE}, an admin: there is no TLS to carry a secret safely.
 */
public final class ApiGuard implements ServerInterceptor {
  private static final Context.Key<Principal> KEY = Context.key("ops-principal");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** Who calls without a credential in insecure mode. */
  public static final Principal INSECURE =
      new Principal("", "anonymous (insecure mode)", Role.ADMIN, java.util.List.of());

  private final Authenticator tokens;
  private final MethodRules rules;
  private final Optional<Principal> anonymous;
  private final int maxStreams;
  private final java.util.concurrent.ConcurrentHashMap<
          String, java.util.concurrent.atomic.AtomicInteger>
      open = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * @param insecure whether the manager runs in the loopback-only insecure mode (calls without a
   *     credential are then {@link #INSECURE})
   */
  public ApiGuard(ApiTokens tokens, boolean insecure) {
    this(
        tokens,
        insecure,
        io.opsscaffold.manager.ManagerSettings.Limits.DEFAULT.maxStreamsPerToken());
  }

  /**
   * @param maxStreams the most watches and log follows ({@link ApiPermissions#longLived}) one
   *     credential may hold open at once ({@code limits.max-streams-per-token})
   */
  public ApiGuard(ApiTokens tokens, boolean insecure, int maxStreams) {
    this(tokens::authenticate, insecure, maxStreams, ApiPermissions.RULES);
  }

  /**
   * A guard for another service's table ({@code rules}) and token store ({@code tokens}): the
   * platform service's.
   */
  public ApiGuard(Authenticator tokens, boolean insecure, int maxStreams, MethodRules rules) {
    this.tokens = tokens;
    this.rules = rules;
    this.anonymous = insecure ? Optional.of(INSECURE) : Optional.empty();
    this.maxStreams = maxStreams;
  }

  /** Finds who a bearer token proves, if anyone; throws when the token store cannot be read. */
  @FunctionalInterface
  public interface Authenticator {
    Optional<Principal> authenticate(String bearer);
  }

  /** A table of who may call what (see {@link ApiPermissions}). */
  public interface MethodRules {
    /** A role, open (an empty role), or nothing when the method is not in the table. */
    Optional<Optional<Role>> of(String fullMethodName);

    /** Whether the method honours a token's areas. */
    boolean areaScoped(String fullMethodName);

    /** Whether the method stays open (a watch or a follow), counted per credential. */
    boolean longLived(String fullMethodName);
  }

  /** The authenticated principal of the call on this thread, if any. */
  public static Optional<Principal> current() {
    return Optional.ofNullable(KEY.get());
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Optional<Optional<Role>> rule = rules.of(method);
    if (rule.isEmpty()) {
      return refuse(
          call,
          Status.PERMISSION_DENIED.withDescription(
              method + " has no entry in the permission table"));
    }
    Role needed = rule.get().orElse(null);
    String auth = headers.get(AUTHORIZATION);
    Optional<Principal> principal = Optional.empty();
    if (auth != null && auth.regionMatches(true, 0, "bearer ", 0, 7)) {
      try {
        principal = tokens.authenticate(auth.substring(7));
      } catch (RuntimeException e) {
        return refuse(
            call,
            Status.UNAVAILABLE.withDescription(
                "credentials cannot be checked now (the database is unreachable); retry"));
      }
      if (principal.isEmpty()) {
        return refuse(
            call,
            Status.UNAUTHENTICATED.withDescription(
                "the bearer token is not valid (unknown, expired or revoked)"));
      }
    }
    if (principal.isEmpty()) {
      principal = anonymous;
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
    if (needed != null && !principal.get().areas().isEmpty() && !rules.areaScoped(method)) {
      return refuse(
          call,
          Status.PERMISSION_DENIED.withDescription(
              "token "
                  + principal.get().name()
                  + " is limited to areas "
                  + principal.get().areas()
                  + " and "
                  + method
                  + " does not honour area limits yet; use a token without areas"));
    }
    if (principal.isEmpty()) {
      return next.startCall(call, headers);
    }
    if (rules.longLived(method)) {
      return counted(call, headers, next, principal.get());
    }
    return Contexts.interceptCall(
        Context.current().withValue(KEY, principal.get()), call, headers, next);
  }

  /**
   * A watch or follow, counted against its credential while it is open: refused with
   * RESOURCE_EXHAUSTED naming the limit when the credential holds {@code maxStreams} already.
   */
  private <Q, R> ServerCall.Listener<Q> counted(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next, Principal p) {
    var count =
        open.computeIfAbsent(p.tokenId(), k -> new java.util.concurrent.atomic.AtomicInteger());
    if (count.incrementAndGet() > maxStreams) {
      count.decrementAndGet();
      return refuse(
          call,
          Status.RESOURCE_EXHAUSTED.withDescription(
              "token "
                  + p.name()
                  + " already holds "
                  + maxStreams
                  + " watches and log follows open (limits.max-streams-per-token); close one"));
    }
    java.util.concurrent.atomic.AtomicBoolean released =
        new java.util.concurrent.atomic.AtomicBoolean();
    Runnable release =
        () -> {
          if (released.compareAndSet(false, true)) {
            count.decrementAndGet();
          }
        };
    ServerCall<Q, R> closing =
        new io.grpc.ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void close(Status status, Metadata trailers) {
            release.run();
            super.close(status, trailers);
          }
        };
    ServerCall.Listener<Q> listener;
    try {
      listener =
          Contexts.interceptCall(Context.current().withValue(KEY, p), closing, headers, next);
    } catch (RuntimeException e) {
      release.run();
      throw e;
    }
    return new io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onCancel() {
        release.run();
        super.onCancel();
      }

      @Override
      public void onComplete() {
        release.run();
        super.onComplete();
      }
    };
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
    return io.opsscaffold.errors.Refusal.refuse(call, status);
  }
}
