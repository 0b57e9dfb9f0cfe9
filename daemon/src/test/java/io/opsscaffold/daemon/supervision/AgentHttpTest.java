package io.opsscaffold.daemon.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The daemon's HTTP client against a real HTTP server on loopback. */
class AgentHttpTest {
  private HttpServer server;
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicReference<String> lastMethod = new AtomicReference<>();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext(
        "/health",
        x -> {
          lastMethod.set(x.getRequestMethod());
          answer(x, 200, "up");
        });
    server.createContext("/broken", x -> answer(x, 503, "x".repeat(1000)));
    server.createContext(
        "/slow",
        x -> {
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          answer(x, 200, "late");
        });
    server.createContext(
        "/endless",
        x -> {
          x.sendResponseHeaders(200, 0); // chunked, never ends on its own
          try (OutputStream out = x.getResponseBody()) {
            byte[] chunk = new byte[4096];
            while (release.getCount() > 0) {
              out.write(chunk);
            }
          } catch (IOException e) {
            // the client went away, as it should
          }
        });
    server.start();
  }

  @AfterEach
  void stop() {
    release.countDown();
    server.stop(0);
  }

  private static void answer(com.sun.net.httpserver.HttpExchange x, int status, String body)
      throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    x.sendResponseHeaders(status, b.length);
    try (OutputStream out = x.getResponseBody()) {
      out.write(b);
    }
  }

  private URI url(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  @Test
  void getAndPostReturnTheStatusAndBody() throws IOException {
    AgentHttp.Answer a = AgentHttp.get(url("/health"), Duration.ofSeconds(2));
    assertEquals(200, a.status());
    assertEquals("up", a.body());
    assertTrue(a.ok());
    assertEquals("GET", lastMethod.get());
    assertEquals(200, AgentHttp.post(url("/health"), Duration.ofSeconds(2)).status());
    assertEquals("POST", lastMethod.get());
  }

  @Test
  void anErrorStatusIsAnAnswerWithTheStartOfItsBody() throws IOException {
    AgentHttp.Answer a = AgentHttp.get(url("/broken"), Duration.ofSeconds(2));
    assertEquals(503, a.status());
    assertFalse(a.ok());
    assertEquals(AgentHttp.BODY_LIMIT, a.body().length());
  }

  @Test
  void aSlowAnswerTimesOut() {
    long t0 = System.nanoTime();
    assertThrows(
        AgentHttp.TimedOut.class, () -> AgentHttp.get(url("/slow"), Duration.ofMillis(300)));
    assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "the timeout held the caller");
  }

  @Test
  void anEndlessBodyDoesNotHoldTheCaller() throws IOException {
    AgentHttp.Answer a = AgentHttp.get(url("/endless"), Duration.ofSeconds(2));
    assertEquals(200, a.status());
    assertEquals(AgentHttp.BODY_LIMIT, a.body().length());
  }

  @Test
  void aRefusedConnectionAndANonHttpUrlAreErrors() throws IOException {
    int closed;
    try (var s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    assertThrows(
        IOException.class,
        () -> AgentHttp.get(URI.create("http://127.0.0.1:" + closed + "/"), Duration.ofSeconds(1)));
    IOException e =
        assertThrows(
            IOException.class,
            () -> AgentHttp.get(URI.create("file:///etc/passwd"), Duration.ofSeconds(1)));
    assertTrue(e.getMessage().contains("not an http(s) URL"), e.getMessage());
  }
}
