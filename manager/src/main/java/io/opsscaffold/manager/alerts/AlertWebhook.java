package io.opsscaffold.manager.alerts;

import io.opsscaffold.time.Time;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.logging.Logger;

/**
 * Posts alert events as JSON to a configured URL, from its own thread: {@link #send} never blocks
 * (when {@value #CAPACITY} events are waiting the oldest is dropped and counted), and each event is
 * retried with exponential backoff (1 s, 2 s, 4 s, 8 s) before it is given up and logged.
 */
public final class AlertWebhook implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AlertWebhook.class.getName());
  static final int CAPACITY = 1000;
  static final int ATTEMPTS = 5;

  private final URI url;
  private final Duration firstBackoff;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(CAPACITY);
  private final Thread worker;
  private volatile boolean running = true;
  private volatile long dropped;

  private final Time time;

  /**
   * @param time the retries' backoff waits on it
   */
  public AlertWebhook(URI url, Duration firstBackoff, Time time) {
    this.time = time;
    this.url = url;
    this.firstBackoff = firstBackoff;
    this.worker = Thread.ofVirtual().name("alert-webhook").start(this::run);
  }

  /** Queues {@code json} for delivery; drops the oldest queued event when full. */
  public void send(String json) {
    while (!queue.offer(json)) {
      if (queue.poll() != null) {
        dropped++;
      }
    }
  }

  public long dropped() {
    return dropped;
  }

  private void run() {
    while (running) {
      String json;
      try {
        json = queue.take();
      } catch (InterruptedException e) {
        return;
      }
      Duration backoff = firstBackoff;
      for (int attempt = 1; attempt <= ATTEMPTS && running; attempt++) {
        try {
          HttpResponse<Void> res =
              http.send(
                  HttpRequest.newBuilder(url)
                      .timeout(Duration.ofSeconds(10))
                      .header("Content-Type", "application/json")
                      .POST(HttpRequest.BodyPublishers.ofString(json))
                      .build(),
                  HttpResponse.BodyHandlers.discarding());
          if (res.statusCode() / 100 == 2) {
            break;
          }
          LOG.warning(
              "alert webhook "
                  + url
                  + " answered "
                  + res.statusCode()
                  + " (attempt "
                  + attempt
                  + ")");
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          LOG.warning("alert webhook " + url + " failed (attempt " + attempt + "): " + e);
        }
        if (attempt == ATTEMPTS) {
          LOG.severe("alert webhook gave up on an event after " + ATTEMPTS + " attempts");
          break;
        }
        try {
          time.sleep(backoff);
        } catch (InterruptedException e) {
          return;
        }
        backoff = backoff.multipliedBy(2);
      }
    }
  }

  @Override
  public void close() {
    running = false;
    worker.interrupt();
    http.shutdownNow();
  }
}
