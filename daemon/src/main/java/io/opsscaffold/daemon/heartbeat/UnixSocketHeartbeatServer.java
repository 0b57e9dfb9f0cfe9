package io.opsscaffold.daemon.heartbeat;

import io.opentelemetry.context.Context;
import io.opsscaffold.observability.JsonText;
import jakarta.json.JsonArray;
import jakarta.json.JsonNumber;
import jakarta.json.JsonObject;
import jakarta.json.JsonObjectBuilder;
import jakarta.json.JsonString;
import jakarta.json.JsonValue;
import jakarta.json.spi.JsonProvider;
import jakarta.json.stream.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringReader;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Heartbeats as JSON-RPC 2.0 on a Unix domain socket: one request (or batch) per line, method
 * {@code heartbeat}, params the same object as the HTTP body. Answers {@code
 * {"jsonrpc":"2.0","result":{"message":"heartbeat received"},"id":...}} or a JSON-RPC error object:
 * -32700 parse error, -32600 invalid request, -32601 unknown method, -32602 invalid params (naming
 * the field), -32001 unknown agent. Notifications (no id) get no answer.
 *
 * <p>Any local user may connect: a heartbeat counts only when the connection's peer, as the kernel
 * gives it ({@link PeerCredentials}), is a member of the agent's process group; others are answered
 * with a warning. One virtual thread per connection; a line longer than {@value #MAX_LINE} bytes
 * closes the connection after an error.
 */
public final class UnixSocketHeartbeatServer implements AutoCloseable {
  // One provider for the process: Json.createX() looks the provider up through ServiceLoader on
  // every call.
  private static final JsonProvider JSON = JsonProvider.provider();
  private static final Logger LOG = Logger.getLogger(UnixSocketHeartbeatServer.class.getName());
  static final int MAX_LINE = 64 * 1024;

  private final HeartbeatIntake intake;
  private final PeerCredentials credentials;
  private final ProcSockets proc;
  private final io.opsscaffold.daemon.unix.UnixListener listener;

  /**
   * Binds {@code path} (replacing a stale socket file) and starts accepting. Each connection's
   * sender is what {@code credentials} says of its peer, once per connection.
   */
  public UnixSocketHeartbeatServer(
      Path path, HeartbeatIntake intake, PeerCredentials credentials, ProcSockets proc)
      throws IOException {
    this.intake = intake;
    this.credentials = credentials;
    this.proc = proc;
    // Any local user may connect (agents may run as their own users); what a heartbeat is worth is
    // decided by who the kernel says sent it, not by who could open the socket.
    this.listener =
        new io.opsscaffold.daemon.unix.UnixListener(
            path, "rw-rw-rw-", "heartbeat-socket", this::serve);
  }

  public Path path() {
    return listener.path();
  }

  private void serve(SocketChannel client) {
    try (client;
        InputStream in = Channels.newInputStream(client);
        OutputStream out = Channels.newOutputStream(client)) {
      Sender sender = sender(client);
      LineReader lines = new LineReader(in, MAX_LINE);
      while (listener.open()) {
        String line;
        try {
          line = lines.next();
        } catch (LineReader.LineTooLong e) {
          write(out, error(JsonValue.NULL, -32600, e.getMessage()));
          return;
        }
        if (line == null) {
          return;
        }
        if (line.isBlank()) {
          continue;
        }
        String answer = handle(line, sender);
        if (answer != null) {
          write(out, answer);
        }
      }
    } catch (IOException e) {
      LOG.fine(() -> "heartbeat socket client went away: " + e);
    }
  }

  /** The peer of {@code client} as the kernel knows it. */
  private Sender sender(SocketChannel client) {
    try {
      PeerCredentials.Peer peer = credentials.of(client);
      return peer.pidKnown() ? Sender.process(peer.pid(), proc) : Sender.user(peer.uid(), proc);
    } catch (IOException e) {
      LOG.fine(() -> "the peer of a heartbeat connection is unknown: " + e.getMessage());
      return Sender.unknown("an unidentified peer");
    }
  }

  /** The answer to one line, or null when nothing is to be answered (notifications only). */
  String handle(String line, Sender sender) {
    JsonValue request;
    try (JsonParser parser = JSON.createParser(new StringReader(line))) {
      parser.next();
      request = parser.getValue();
      if (parser.hasNext()) {
        return error(JsonValue.NULL, -32700, "Parse error: unexpected content after the request");
      }
    } catch (RuntimeException e) {
      return error(JsonValue.NULL, -32700, "Parse error: " + e.getMessage());
    }
    if (request instanceof JsonArray batch) {
      if (batch.isEmpty()) {
        return error(JsonValue.NULL, -32600, "Invalid Request: empty batch");
      }
      StringBuilder answers = new StringBuilder("[");
      for (JsonValue item : batch) {
        String a = one(item, sender);
        if (a != null) {
          answers.append(answers.length() > 1 ? "," : "").append(a);
        }
      }
      return answers.length() == 1 ? null : answers.append(']').toString();
    }
    return one(request, sender);
  }

  private String one(JsonValue value, Sender sender) {
    if (!(value instanceof JsonObject req)) {
      return error(JsonValue.NULL, -32600, "Invalid Request: expected a JSON-RPC request object");
    }
    JsonValue id = req.getOrDefault("id", null);
    boolean notification = id == null;
    JsonValue replyId = notification ? JsonValue.NULL : id;
    if (!notification
        && !(id instanceof JsonString || id instanceof JsonNumber || id == JsonValue.NULL)) {
      return error(
          JsonValue.NULL, -32600, "Invalid Request: id must be a string, a number or null");
    }
    if (!(req.get("jsonrpc") instanceof JsonString v) || !v.getString().equals("2.0")) {
      return error(replyId, -32600, "Invalid Request: jsonrpc must be \"2.0\"");
    }
    if (!(req.get("method") instanceof JsonString method)) {
      return error(replyId, -32600, "Invalid Request: method must be a string");
    }
    if (!method.getString().equals("heartbeat")) {
      return notification
          ? null
          : error(
              replyId,
              -32601,
              "Method not found: " + method.getString() + " (this socket serves: heartbeat)");
    }
    if (!(req.get("params") instanceof JsonObject params)) {
      return notification
          ? null
          : error(replyId, -32602, "Invalid params: params must be the heartbeat object");
    }
    Heartbeat hb;
    try {
      hb = HeartbeatParser.parse(params);
    } catch (HeartbeatParser.InvalidHeartbeat e) {
      return notification ? null : error(replyId, -32602, "Invalid params: " + e.getMessage());
    }
    HeartbeatIntake.Outcome outcome = intake.accept(hb, sender, Context.current());
    if (notification) {
      return null;
    }
    if (outcome.busy()) {
      return error(replyId, -32002, outcome.problem().orElseThrow());
    }
    if (!outcome.accepted()) {
      return error(replyId, -32001, outcome.problem().orElseThrow());
    }
    intake.count("socket", outcome.result());
    return accepted(replyId, outcome.warning());
  }

  /**
   * The answer to an accepted heartbeat, written by hand: building it through JSON-P cost a sixth
   * of a heartbeat's handling. {@code id} is a string, a number or null, and prints as JSON.
   */
  static String accepted(JsonValue id, Optional<String> warning) {
    StringBuilder reply =
        new StringBuilder(96)
            .append("{\"jsonrpc\":\"2.0\",\"result\":{\"message\":\"heartbeat received\"");
    warning.ifPresent(w -> JsonText.appendQuoted(reply.append(",\"warning\":"), w));
    return reply.append("},\"id\":").append(id).append('}').toString();
  }

  private String error(JsonValue id, int code, String message) {
    intake.count("socket", code == -32002 ? "busy" : code == -32001 ? "refused" : "invalid");
    JsonObjectBuilder err = JSON.createObjectBuilder().add("code", code).add("message", message);
    return JSON.createObjectBuilder()
        .add("jsonrpc", "2.0")
        .add("error", err)
        .add("id", id)
        .build()
        .toString();
  }

  private static void write(OutputStream out, String answer) throws IOException {
    out.write((answer + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  @Override
  public void close() {
    listener.close();
  }
}
