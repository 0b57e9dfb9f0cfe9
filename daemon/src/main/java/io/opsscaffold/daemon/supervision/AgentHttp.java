package io.opsscaffold.daemon.supervision;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The daemon's HTTP client for an agent's own endpoints (the health probe, the reload URL): one
 * request, blocking, with a timeout, the answer's status and the start of its body.
 *
 * <p>Built on {@link HttpURLConnection} rather than {@code java.net.http.HttpClient} on purpose:
 * creating an {@code HttpClient} initialises the default TLS context even for plain {@code http://}
 * (the JSSE classes and the parsed CA certificates, ~450 classes and ~2 MB of the daemon's
 * footprint) and starts a selector thread per client. Plain HTTP here touches none of that; an
 * {@code https://} URL still works and pays for TLS only when used. Connections are kept alive and
 * reused by the JDK's HTTP keep-alive cache.
 *
 * <p>Call on a virtual thread: it blocks for up to {@code timeout} (connect, then read each).
 */
public final class AgentHttp {
  /** At most this much of a body is kept for messages. */
  static final int BODY_LIMIT = 300;

  /** A body longer than this is not read to its end: the connection is closed instead. */
  static final int DRAIN_LIMIT = 64 * 1024;

  /** Connecting never waits longer than this, whatever the request's timeout. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

  /** An answer: its status code and the first {@link #BODY_LIMIT} characters of its body. */
  public record Answer(int status, String body) {
    public boolean ok() {
      return status >= 200 && status < 400;
    }
  }

  /** The request timed out. */
  public static final class TimedOut extends IOException {
    TimedOut(String message) {
      super(message);
    }
  }

  private AgentHttp() {}

  public static Answer get(URI url, Duration timeout) throws IOException {
    return send("GET", url, timeout);
  }

  /** POST with an empty body. */
  public static Answer post(URI url, Duration timeout) throws IOException {
    return send("POST", url, timeout);
  }

  private static Answer send(String method, URI url, Duration timeout) throws IOException {
    if (!"http".equalsIgnoreCase(url.getScheme()) && !"https".equalsIgnoreCase(url.getScheme())) {
      throw new IOException("not an http(s) URL: " + url);
    }
    HttpURLConnection c = (HttpURLConnection) url.toURL().openConnection();
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    c.setConnectTimeout((int) Math.min(millis, CONNECT_TIMEOUT.toMillis()));
    c.setReadTimeout(millis);
    c.setUseCaches(false);
    c.setInstanceFollowRedirects(false);
    c.setRequestMethod(method);
    if (method.equals("POST")) {
      c.setDoOutput(true);
      c.setFixedLengthStreamingMode(0);
    }
    try {
      int status = c.getResponseCode();
      return new Answer(status, drain(c, status >= 400 ? c.getErrorStream() : c.getInputStream()));
    } catch (SocketTimeoutException e) {
      c.disconnect();
      throw new TimedOut(e.getMessage());
    } catch (IOException e) {
      c.disconnect();
      throw e;
    }
  }

  /**
   * Keeps the body's start and reads the rest, so the connection can be reused, up to {@link
   * #DRAIN_LIMIT}; a longer body closes the connection instead, so an endless one cannot hold the
   * caller.
   */
  private static String drain(HttpURLConnection c, InputStream in) throws IOException {
    if (in == null) {
      return "";
    }
    try (in) {
      byte[] head = in.readNBytes(BODY_LIMIT);
      byte[] rest = new byte[8192];
      long more = 0;
      for (int n; (n = in.read(rest)) >= 0; ) {
        more += n;
        if (more > DRAIN_LIMIT) {
          c.disconnect();
          break;
        }
      }
      return new String(head, StandardCharsets.UTF_8);
    }
  }
}
