package io.opsscaffold.daemon.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import oshi.SystemInfo;
import oshi.software.os.OSProcess;

/** Real measurements of this machine and its processes (through /proc on Linux, OSHI elsewhere). */
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
    assertEquals(
        first.diskTotalBytes(), cached.diskTotalBytes(), "disk figures are reused within a minute");
    assertTrue(
        cached.networkReceivedBytes() >= first.networkReceivedBytes(),
        "interface counters only grow");
    clock.advance(ResourceMonitor.SLOW_PARTS_TTL);
    HostSample reread = monitor.host();
    assertPlausible(reread);
    assertTrue(
        reread.networkReceivedBytes() >= cached.networkReceivedBytes(),
        "interface counters only grow");
  }

  @Test
  void aProcessSampleMeasuresALiveProcessAndNothingForAGoneOne() throws Exception {
    measuresALiveProcessAndNothingForAGoneOne(monitor);
  }

  @Test
  void oshiMeasuresProcessesWhereThereIsNoProcFs() throws Exception {
    measuresALiveProcessAndNothingForAGoneOne(
        new ResourceMonitor(clock, Optional.empty(), 0, System::nanoTime));
  }

  private static void measuresALiveProcessAndNothingForAGoneOne(ResourceMonitor monitor)
      throws Exception {
    long self = ProcessHandle.current().pid();
    ProcessSample s = monitor.sample(self).orElseThrow();
    assertTrue(s.rssBytes() > 1 << 20, "rss " + s.rssBytes());
    assertTrue(s.threads() > 1, "threads " + s.threads());
    assertEquals(0, s.cpuPercent(), "the first sample of a process has nothing to compare with");

    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    assertTrue(monitor.sample(gone.pid()).isEmpty());
  }

  @Test
  void procFsAgreesWithOshiOnARealProcessAndMeasuresItsCpu() throws Exception {
    assumeTrue(ProcFs.available(Path.of("/proc")), "Linux only");
    Process busy = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
    try {
      ProcessSample first = monitor.sample(busy.pid()).orElseThrow();
      assertEquals(
          0, first.cpuPercent(), "the first sample of a process has nothing to compare with");
      // A window long enough for the 10 ms tick not to matter: until the shell has spun for 0.5 s.
      ProcFs proc = new ProcFs(Path.of("/proc"), 4096);
      Await.until(
          Duration.ofSeconds(10),
          "the shell to use 0.5 s of CPU",
          () -> proc.read(busy.pid()).orElseThrow().cpuTicks(),
          ticks -> ticks >= 50);
      ProcessSample second = monitor.sample(busy.pid()).orElseThrow();
      assertTrue(
          second.cpuPercent() > 30 && second.cpuPercent() < 130,
          "a spinning shell: " + second.cpuPercent());
      assertEquals(1, second.threads());
      assertTrue(second.openFiles() >= 3, "stdin, stdout, stderr: " + second.openFiles());
      OSProcess o = new SystemInfo().getOperatingSystem().getProcess((int) busy.pid());
      assertEquals(o.getVirtualSize(), second.virtualBytes());
      assertEquals(o.getResidentSetSize(), second.rssBytes(), o.getResidentSetSize() / 10.0);
    } finally {
      busy.destroyForcibly().waitFor();
    }
    assertTrue(monitor.sample(busy.pid()).isEmpty(), "a gone process has no sample");
  }

  @Test
  void procFsReadsOddNamesAndTellsAReusedPidFromItsPredecessor(@TempDir Path proc)
      throws Exception {
    Path p = Files.createDirectories(proc.resolve("42"));
    Files.createDirectories(p.resolve("fd"));
    for (int i = 0; i < 5; i++) {
      Files.createFile(p.resolve("fd").resolve(Integer.toString(i)));
    }
    Files.writeString(p.resolve("io"), "rchar: 1\nwchar: 2\nread_bytes: 4096\nwrite_bytes: 8192\n");
    AtomicLong nanos = new AtomicLong();
    ResourceMonitor m =
        new ResourceMonitor(clock, Optional.of(new ProcFs(proc, 4096)), 100, nanos::get);
    Files.writeString(p.resolve("stat"), stat("a) (b", 100, 7, 1000));
    ProcessSample s = m.sample(42).orElseThrow();
    assertEquals(7, s.threads());
    assertEquals(5, s.openFiles());
    assertEquals(256 * 4096, s.rssBytes());
    assertEquals(123_456_789, s.virtualBytes());
    assertEquals(4096, s.readBytes());
    assertEquals(8192, s.writeBytes());
    nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(400));
    Files.writeString(p.resolve("stat"), stat("a) (b", 130, 7, 1000)); // 0.3 s of CPU in 0.4 s
    assertEquals(75, m.sample(42).orElseThrow().cpuPercent(), "CPU from the tick delta");
    nanos.addAndGet(TimeUnit.SECONDS.toNanos(1));
    Files.writeString(
        p.resolve("stat"), stat("other", 5000, 1, 2000)); // a new process with the same pid
    assertEquals(0, m.sample(42).orElseThrow().cpuPercent(), "a reused pid is a new process");
    Files.delete(p.resolve("io"));
    assertEquals(0, m.sample(42).orElseThrow().readBytes(), "unreadable io reads as none");
    Files.writeString(p.resolve("stat"), "garbage");
    assertTrue(m.sample(42).isEmpty());
    assertTrue(m.sample(43).isEmpty());
  }

  /** A stat line in proc(5)'s layout with the fields the monitor reads. */
  private static String stat(String comm, long cpuTicks, int threads, long start) {
    return "42 ("
        + comm
        + ") S 1 42 42 0 -1 4194304 10 0 0 0 "
        + (cpuTicks / 2)
        + " "
        + (cpuTicks - cpuTicks / 2)
        + " 0 0 20 0 "
        + threads
        + " 0 "
        + start
        + " 123456789 256 18446744073709551615 1 2 3 4 5 0 0 0 0 0 0 0 17 0\n";
  }

  private static void assertPlausible(HostSample h) {
    assertTrue(h.cores() >= 1, "cores " + h.cores());
    assertTrue(
        h.memoryTotalBytes() > 0 && h.memoryAvailableBytes() <= h.memoryTotalBytes(), h.toString());
    assertTrue(h.diskTotalBytes() > 0 && h.diskFreeBytes() <= h.diskTotalBytes(), h.toString());
    assertTrue(h.uptimeSeconds() > 0, h.toString());
  }
}
