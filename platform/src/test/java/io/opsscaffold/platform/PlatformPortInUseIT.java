package io.opsscaffold.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.EtcdServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The packaged platform whose port is taken stops with one clear line and a failure status, instead
 * of announcing itself ready on port -1 and running with no listener.
 */
class PlatformPortInUseIT {
  @Test
  void aPlatformWhosePortIsTakenExitsWithAClearError() throws Exception {
    Path jar = Path.of("target", "platform.jar").toAbsolutePath();
    assertTrue(Files.exists(jar), jar + " is built by 'mvn package'");
    Path dir = Files.createTempDirectory("platform-port");
    try (EtcdServer etcd = EtcdServer.start();
        ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("0.0.0.0"))) {
      Path config =
          Files.writeString(
              dir.resolve("platform.yaml"),
              """
              server:
                port: %d
              data-dir: %s
              etcd:
                endpoints: [%s]
                insecure: true
              """
                  .formatted(taken.getLocalPort(), dir.resolve("data"), etcd.endpoint()));
      Process p =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-XX:TieredStopAtLevel=1",
                  "-jar",
                  jar.toString(),
                  "--config",
                  config.toString())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("platform.log").toFile())
              .start();
      boolean ended = p.waitFor(60, TimeUnit.SECONDS);
      String log = Files.readString(dir.resolve("platform.log"), StandardCharsets.UTF_8);
      if (!ended) {
        p.destroyForcibly();
      }
      assertTrue(ended, "the platform kept running with its port taken: " + log);
      assertEquals(2, p.exitValue(), "its exit status, as for any start-up failure: " + log);
      assertTrue(
          log.contains(
              "cannot listen on 0.0.0.0:"
                  + taken.getLocalPort()
                  + " (server.host, server.port): the address is in use or not available here"),
          log);
      assertFalse(log.contains("ready on port"), log);
    }
  }
}
