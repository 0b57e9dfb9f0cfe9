package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A manager whose port is taken stops with one clear line and a failure status, instead of
 * announcing itself ready on port -1 and running with no listener.
 */
class PortInUseIT {
  @Test
  void aManagerWhosePortIsTakenExitsWithAClearError() throws Exception {
    try (Stack stack = new Stack(List.of(), Stack.env(Map.of()));
        ServerSocket taken =
            new ServerSocket(stack.managerPort, 1, InetAddress.getByName("0.0.0.0"))) {
      AppProcess manager =
          new AppProcess(
                  "manager",
                  Stack.jar("manager"),
                  stack.dir.resolve("manager.yaml"),
                  stack.env,
                  stack.dir)
              .start();
      ProcessHandle handle = ProcessHandle.of(manager.pid()).orElseThrow();
      handle.onExit().get(60, TimeUnit.SECONDS);
      String log = Files.readString(manager.log());
      assertTrue(
          log.contains(
              "cannot listen on 0.0.0.0:"
                  + stack.managerPort
                  + " (server.host, server.port): the address is in use or not available here"),
          log);
      assertTrue(!log.contains("ready on port"), "announced itself ready: " + log);
      assertEquals(2, manager.stop(), "its exit status, as for any start-up failure");
    }
  }
}
