package io.opsscaffold.agent.heartbeat;

import java.io.IOException;
import java.time.Duration;

/** Carries one heartbeat to the daemon. Called from one thread at a time. */
public interface HeartbeatTransport extends AutoCloseable {
  /**
   * Sends {@code json} (the heartbeat object) and waits up to {@code timeout} for the answer.
   *
   * @throws IOException when the daemon cannot be reached or rejects the heartbeat; the message
   *     says which
   */
  void send(String json, Duration timeout) throws IOException;

  /** Where heartbeats go, for logs. */
  String describe();

  @Override
  void close();
}
