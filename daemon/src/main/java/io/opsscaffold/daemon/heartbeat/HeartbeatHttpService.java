package io.opsscaffold.daemon.heartbeat;

import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.opentelemetry.context.Context;
import io.opsscaffold.observability.JsonText;
import java.util.logging.Logger;

/**
 * {@code POST /heartbeat}: 200 {@code {"message":"heartbeat received"}}, or 400
 * {@code {"error":"..."}} naming what is wrong (malformed body, unknown agent). Runs on Helidon's
 * request threads; only hands the heartbeat to the agent's runner.
 */
public final class HeartbeatHttpService implements HttpService {
  private static final Logger LOG = Logger.getLogger(HeartbeatHttpService.class.getName());
  /** Largest heartbeat body accepted; agents send a few hundred bytes. */
  public static final int MAX_BODY_BYTES = 16 * 1024;

  private final HeartbeatIntake intake;

  public HeartbeatHttpService(HeartbeatIntake intake) {
    this.intake = intake;
  }

  @Override
  public void routing(HttpRules rules) {
    rules.post("/heartbeat", this::heartbeat);
  }

  private void heartbeat(ServerRequest req, ServerResponse res) {
    String body;
    try {
      if (req.headers().contentLength().orElse(0) > MAX_BODY_BYTES) {
        error(res, Status.REQUEST_ENTITY_TOO_LARGE_413, "the body is larger than " + MAX_BODY_BYTES + " bytes");
        return;
      }
      body = req.content().hasEntity() ? req.content().as(String.class) : "";
    } catch (RuntimeException e) {
      error(res, Status.BAD_REQUEST_400, "the body could not be read: " + e.getMessage());
      return;
    }
    if (body.length() > MAX_BODY_BYTES) {
      error(res, Status.REQUEST_ENTITY_TOO_LARGE_413, "the body is larger than " + MAX_BODY_BYTES + " bytes");
      return;
    }
    Heartbeat hb;
    try {
      hb = HeartbeatParser.parse(body);
    } catch (HeartbeatParser.InvalidHeartbeat e) {
      error(res, Status.BAD_REQUEST_400, e.getMessage());
      return;
    }
    HeartbeatIntake.Outcome outcome = intake.accept(hb, Context.current());
    if (outcome.busy()) {
      res.header(HeaderNames.RETRY_AFTER, "1");
      error(res, Status.SERVICE_UNAVAILABLE_503, outcome.problem().orElseThrow());
      return;
    }
    if (!outcome.accepted()) {
      error(res, Status.BAD_REQUEST_400, outcome.problem().orElseThrow());
      return;
    }
    intake.count("http", "accepted");
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send("{\"message\":\"heartbeat received\""
        + outcome.warning().map(w -> ",\"warning\":" + JsonText.quote(w)).orElse("") + "}");
  }

  private void error(ServerResponse res, Status status, String message) {
    intake.count("http", status.code() == 413 ? "too_large" : status.code() == 503 ? "busy" : "invalid");
    LOG.fine(() -> "heartbeat rejected: " + message);
    res.status(status);
    res.header(HeaderNames.CONTENT_TYPE, "application/json");
    res.send("{\"error\":" + JsonText.quote(message) + "}");
  }
}
