package io.opsscaffold.agent.heartbeat;

import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import jakarta.json.spi.JsonProvider;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.StringReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * JSON-RPC 2.0 over the daemon's Unix socket, one request per line: {@code
 * {"jsonrpc":"2.0","method":"heartbeat","params":{...},"id":N}}. The connection is kept and
 * reopened after any failure.
 */
public final class UnixSocketHeartbeatTransport implements HeartbeatTransport {
  // One provider for the process: Json.createX() looks the provider up through ServiceLoader on
  // every call.
  private static final JsonProvider JSON = JsonProvider.provider();
  private final Path socket;
  private final ExecutorService reader =
      Executors.newSingleThreadExecutor(
          r -> Thread.ofPlatform().name("heartbeat-socket").daemon(true).unstarted(r));
  private SocketChannel channel;
  private BufferedReader in;
  private long nextId = 1;

  public UnixSocketHeartbeatTransport(Path socket) {
    this.socket = socket;
  }

  @Override
  public void send(String json, Duration timeout) throws IOException {
    long id = nextId++;
    String request =
        "{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
            + json
            + ",\"id\":"
            + id
            + "}\n";
    try {
      if (channel == null) {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        in =
            new BufferedReader(
                new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
      }
      ByteBuffer bytes = ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
      BufferedReader lines = in;
      Future<String> answer = reader.submit(lines::readLine);
      String line = answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (line == null) {
        throw new IOException("the daemon closed the socket");
      }
      JsonObject response;
      try (JsonReader r = JSON.createReader(new StringReader(line))) {
        response = r.readObject();
      }
      if (response.containsKey("error")) {
        throw new IOException("daemon refused the heartbeat: " + response.get("error"));
      }
    } catch (IOException e) {
      reset();
      throw e;
    } catch (TimeoutException e) {
      reset();
      throw new IOException("no answer on " + socket + " within " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      reset();
      throw new IOException("interrupted", e);
    } catch (Exception e) {
      reset();
      throw new IOException("heartbeat over " + socket + " failed: " + e.getMessage(), e);
    }
  }

  private void reset() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // already broken
      }
    }
    channel = null;
    in = null;
  }

  @Override
  public String describe() {
    return "unix:" + socket;
  }

  @Override
  public void close() {
    reset();
    reader.shutdownNow();
  }
}
