package io.opsscaffold.agent;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * Sends heartbeats to the daemon in the documented JSON format. One call at a time from the
 * agent's ticker thread (and once more at shutdown); a failed send is counted and the next tick
 * simply tries again, so failures never pile up.
 */
final class HeartbeatSender {
  private static final Logger LOG = Logger.getLogger(HeartbeatSender.class.getName());

  private final String agentId;
  private final URI endpoint;
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).version(HttpClient.Version.HTTP_1_1).build();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicReference<Instant> last = new AtomicReference<>();

  HeartbeatSender(String agentId, URI daemonUrl) {
    this.agentId = agentId;
    this.endpoint = daemonUrl.resolve("/heartbeat");
  }

  /** Sends one heartbeat; true when the daemon accepted it. Blocks up to {@code timeout}. */
  boolean send(String status, Duration timeout) {
    long pid = ProcessHandle.current().pid();
    long memory = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    String body = "{\"agent_id\":" + io.opsscaffold.observability.JsonText.quote(agentId)
        + ",\"pid\":" + pid + ",\"status\":\"" + status + "\",\"cpu\":0,\"memory\":" + memory
        + ",\"timestamp\":\"" + now + "\"}";
    try {
      HttpResponse<String> res = client.send(
          HttpRequest.newBuilder(endpoint).timeout(timeout)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      if (res.statusCode() == 200) {
        sent.incrementAndGet();
        last.set(now);
        return true;
      }
      failures.incrementAndGet();
      LOG.warning(() -> "daemon rejected heartbeat: " + res.statusCode() + " " + res.body());
    } catch (java.io.IOException e) {
      failures.incrementAndGet();
      LOG.warning(() -> "heartbeat to " + endpoint + " failed: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failures.incrementAndGet();
    }
    return false;
  }

  long sent() {
    return sent.get();
  }

  long failures() {
    return failures.get();
  }

  Instant last() {
    return last.get();
  }
}
