package io.opsscaffold.agent;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real agent process beside an HTTP receiver speaking the daemon's heartbeat protocol: a fresh
 * receiver before each test; the agent (when a test started one) and the receiver stopped after.
 */
abstract class RealAgentFixture {
  @TempDir Path dir;
  HeartbeatReceivers.Http daemon;
  AgentProcess agent;

  @BeforeEach
  void receiver() throws Exception {
    daemon = new HeartbeatReceivers.Http();
  }

  @AfterEach
  void stop() {
    if (agent != null) {
      agent.close();
    }
    daemon.close();
  }
}
