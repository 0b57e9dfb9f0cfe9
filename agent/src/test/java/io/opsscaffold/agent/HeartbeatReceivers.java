package io.opsscaffold.agent;

import com.sun.net.httpserver.HttpServer;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.StringReader;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Test receivers speaking the daemon's two heartbeat protocols, recording what arrives. */
final class HeartbeatReceivers {
  private HeartbeatReceivers() {}

  /** {@code POST /heartbeat}; answers 200, or {@link #status} when a test sets it. */
  static final class Http implements AutoCloseable {
    final List<JsonObject> received = new CopyOnWriteArrayList<>();
    volatile int status = 200;
    private final HttpServer server;

    Http() throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      server.createContext(
          "/heartbeat",
          ex -> {
            try (ex;
                JsonReader r = Json.createReader(ex.getRequestBody())) {
              JsonObject body = r.readObject();
              int answer = status;
              if (answer == 200) {
                received.add(body);
              }
              byte[] out =
                  (answer == 200
                          ? "{\"message\":\"heartbeat received\"}"
                          : "{\"error\":\"test says no\"}")
                      .getBytes(StandardCharsets.UTF_8);
              ex.sendResponseHeaders(answer, out.length);
              try (OutputStream o = ex.getResponseBody()) {
                o.write(out);
              }
            }
          });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  /** JSON-RPC 2.0 on a Unix socket, one request per line, as the daemon serves it. */
  static final class Socket implements AutoCloseable {
    final List<JsonObject> requests = new CopyOnWriteArrayList<>();
    final Path path;
    private final ServerSocketChannel server;

    Socket(Path path) throws IOException {
      this.path = path;
      Files.deleteIfExists(path);
      server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(path));
      Thread.ofVirtual()
          .start(
              () -> {
                while (server.isOpen()) {
                  try {
                    SocketChannel c = server.accept();
                    Thread.ofVirtual().start(() -> serve(c));
                  } catch (IOException e) {
                    return;
                  }
                }
              });
    }

    private void serve(SocketChannel c) {
      try (c;
          BufferedReader in =
              new BufferedReader(
                  new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
          OutputStream out = Channels.newOutputStream(c)) {
        String line;
        while ((line = in.readLine()) != null) {
          JsonObject req;
          try (JsonReader r = Json.createReader(new StringReader(line))) {
            req = r.readObject();
          }
          requests.add(req);
          String answer =
              "{\"jsonrpc\":\"2.0\",\"result\":{\"message\":\"heartbeat received\"},\"id\":"
                  + req.get("id")
                  + "}\n";
          out.write(answer.getBytes(StandardCharsets.UTF_8));
          out.flush();
        }
      } catch (IOException e) {
        // the agent went away
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      Files.deleteIfExists(path);
    }
  }
}
