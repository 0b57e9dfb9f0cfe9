package io.opsscaffold.daemon.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Real measurements of this machine and this process through OSHI. */
class ResourceMonitorTest {
  private final ManualClock clock = new ManualClock();
  private final ResourceMonitor monitor = new ResourceMonitor(clock);

  @Test
  void aHostSampleDescribesThisMachineBeforeAndAfterTheSlowPartsAreReread() {
    HostSample first = monitor.host();
    assertPlausible(first);
    clock.advance(Duration.ofSeconds(5));
    HostSample cached = monitor.host();
    assertPlausible(cached);
    assertEquals(first.diskTotalBytes(), cached.diskTotalBytes(), "disk figures are reused within a minute");
    assertTrue(cached.networkReceivedBytes() >= first.networkReceivedBytes(), "interface counters only grow");
    clock.advance(ResourceMonitor.SLOW_PARTS_TTL);
    HostSample reread = monitor.host();
    assertPlausible(reread);
    assertTrue(reread.networkReceivedBytes() >= cached.networkReceivedBytes(), "interface counters only grow");
  }

  @Test
  void aProcessSampleMeasuresALiveProcessAndNothingForAGoneOne() throws Exception {
    long self = ProcessHandle.current().pid();
    ProcessSample s = monitor.sample(self).orElseThrow();
    assertTrue(s.rssBytes() > 1 << 20, "rss " + s.rssBytes());
    assertTrue(s.threads() > 1, "threads " + s.threads());
    assertEquals(0, s.cpuPercent(), "the first sample of a process has nothing to compare with");

    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    assertTrue(monitor.sample(gone.pid()).isEmpty());
  }

  private static void assertPlausible(HostSample h) {
    assertTrue(h.cores() >= 1, "cores " + h.cores());
    assertTrue(h.memoryTotalBytes() > 0 && h.memoryAvailableBytes() <= h.memoryTotalBytes(), h.toString());
    assertTrue(h.diskTotalBytes() > 0 && h.diskFreeBytes() <= h.diskTotalBytes(), h.toString());
    assertTrue(h.uptimeSeconds() > 0, h.toString());
  }
}
