package io.opsscaffold.daemon.heartbeat;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.opentelemetry.context.Context;
import io.opsscaffold.observability.JsonText;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.logging.Logger;

/**
 * {@code POST /heartbeat}: 200 {@code {"message":"heartbeat received"}}, or 400 {@code
 * {"error":"..."}} naming what is wrong (malformed body, unknown agent). A heartbeat whose
 * connection is not held by the agent's process group (found under /proc, see {@link TcpSenders})
 * is answered with a {@code warning} and does not count. Runs on Helidon's request threads; only
 * hands the heartbeat to the agent's runner.
 */
public final class HeartbeatHttpService implements HttpService {
  private static final Logger LOG = Logger.getLogger(HeartbeatHttpService.class.getName());

  /** Largest heartbeat body accepted; agents send a few hundred bytes. */
  public static final int MAX_BODY_BYTES = 16 * 1024;

  private final HeartbeatIntake intake;
  private final TcpSenders senders;

  public HeartbeatHttpService(HeartbeatIntake intake, TcpSenders senders) {
    this.intake = intake;
    this.senders = senders;
  }

  @Override
  public void routing(HttpRules rules) {
    rules.post("/heartbeat", this::heartbeat);
  }

  private void heartbeat(ServerRequest req, ServerResponse res) {
    // The body is read as bytes and the length header by hand: Helidon's typed accessors go
    // through its mapper registry, which cost more than everything else a heartbeat does.
    byte[] bytes;
    try {
      if (declaredLength(req) > MAX_BODY_BYTES) {
        error(
            res,
            Status.REQUEST_ENTITY_TOO_LARGE_413,
            "the body is larger than " + MAX_BODY_BYTES + " bytes");
        return;
      }
      try (InputStream in = req.content().inputStream()) {
        bytes = in.readNBytes(MAX_BODY_BYTES + 1);
      }
    } catch (IOException | RuntimeException e) {
      error(res, Status.BAD_REQUEST_400, "the body could not be read: " + e.getMessage());
      return;
    }
    if (bytes.length > MAX_BODY_BYTES) {
      error(
          res,
          Status.REQUEST_ENTITY_TOO_LARGE_413,
          "the body is larger than " + MAX_BODY_BYTES + " bytes");
      return;
    }
    String body = new String(bytes, StandardCharsets.UTF_8);
    Heartbeat hb;
    try {
      hb = HeartbeatParser.parse(body);
    } catch (HeartbeatParser.InvalidHeartbeat e) {
      error(res, Status.BAD_REQUEST_400, e.getMessage());
      return;
    }
    HeartbeatIntake.Outcome outcome = intake.accept(hb, sender(req), Context.current());
    if (outcome.busy()) {
      res.header(HeaderNames.RETRY_AFTER, "1");
      error(res, Status.SERVICE_UNAVAILABLE_503, outcome.problem().orElseThrow());
      return;
    }
    if (!outcome.accepted()) {
      error(res, Status.BAD_REQUEST_400, outcome.problem().orElseThrow());
      return;
    }
    intake.count("http", outcome.result());
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(
        ("{\"message\":\"heartbeat received\""
                + outcome.warning().map(w -> ",\"warning\":" + JsonText.quote(w)).orElse("")
                + "}")
            .getBytes(StandardCharsets.UTF_8));
  }

  /** Who is at the other end of the request's connection, as the kernel knows it. */
  private Sender sender(ServerRequest req) {
    if (req.remotePeer().address() instanceof InetSocketAddress client) {
      return senders.of(req.socketId(), client, req.localPeer().port());
    }
    return Sender.unknown(req.remotePeer().host());
  }

  private static long declaredLength(ServerRequest req) {
    if (!req.headers().contains(HeaderNames.CONTENT_LENGTH)) {
      return 0;
    }
    try {
      return Long.parseLong(req.headers().get(HeaderNames.CONTENT_LENGTH).values().strip());
    } catch (NumberFormatException e) {
      return 0; // Helidon refuses a malformed length before routing; the body limit still holds
    }
  }

  private void error(ServerResponse res, Status status, String message) {
    intake.count(
        "http", status.code() == 413 ? "too_large" : status.code() == 503 ? "busy" : "invalid");
    LOG.fine(() -> "heartbeat rejected: " + message);
    res.status(status);
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send(("{\"error\":" + JsonText.quote(message) + "}").getBytes(StandardCharsets.UTF_8));
  }
}
