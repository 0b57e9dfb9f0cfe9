package io.opsscaffold.manager.operations;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/**
 * Who is asking: the user of HTTP Basic credentials, else the {@code x-ops-user} header, else
 * "anonymous". Over HTTP the transcoder passes request headers as call metadata, so both paths see
 * the same. No authentication happens here: this names the requester in the operations log.
 */
public final class Requester implements ServerInterceptor {
  private static final Context.Key<String> KEY = Context.key("ops-requester");
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> USER =
      Metadata.Key.of("x-ops-user", Metadata.ASCII_STRING_MARSHALLER);

  /** The requester of the call on this thread. */
  public static String current() {
    String who = KEY.get();
    return who == null ? "anonymous" : who;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    return Contexts.interceptCall(
        Context.current().withValue(KEY, of(headers)), call, headers, next);
  }

  static String of(Metadata headers) {
    String auth = headers.get(AUTHORIZATION);
    if (auth != null && auth.toLowerCase(Locale.ROOT).startsWith("basic ")) {
      try {
        String decoded =
            new String(
                Base64.getDecoder().decode(auth.substring(6).trim()), StandardCharsets.UTF_8);
        int colon = decoded.indexOf(':');
        String user = colon < 0 ? decoded : decoded.substring(0, colon);
        if (!user.isBlank()) {
          return user;
        }
      } catch (IllegalArgumentException e) {
        // not base64: fall through
      }
    }
    String user = headers.get(USER);
    return user == null || user.isBlank() ? "anonymous" : user.trim();
  }
}
