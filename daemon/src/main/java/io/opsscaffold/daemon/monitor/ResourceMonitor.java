package io.opsscaffold.daemon.monitor;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import oshi.PlatformEnum;
import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.hardware.GlobalMemory;
import oshi.hardware.HardwareAbstractionLayer;
import oshi.hardware.NetworkIF;
import oshi.software.os.OSFileStore;
import oshi.software.os.OSProcess;
import oshi.software.os.OperatingSystem;
import oshi.software.os.linux.LinuxOperatingSystem;

/**
 * Measures agent processes and the host through OSHI. CPU figures are deltas since the previous
 * sample of the same process (or of the host), so the first sample of a process reads 0.
 * Thread-safe; each call reads /proc.
 *
 * <p>Disk space and the set of network interfaces are read at most once per {@link
 * #SLOW_PARTS_TTL}: they change rarely, and reading them (OSHI walks the mounts and enumerates the
 * interfaces) cost about five times the rest of a host sample, most of the daemon's idle work.
 * Interface counters are refreshed on every sample.
 *
 * <p>On Linux an agent process is read straight from /proc ({@link ProcFs}): three small reads
 * instead of OSHI's whole process record. Elsewhere OSHI measures it.
 */
public final class ResourceMonitor {
  static final Duration SLOW_PARTS_TTL = Duration.ofSeconds(60);

  private final SystemInfo system = new SystemInfo();
  private final OperatingSystem os = system.getOperatingSystem();
  private final HardwareAbstractionLayer hardware = system.getHardware();
  private final Clock clock;
  private final Map<Long, OSProcess> previous = new ConcurrentHashMap<>();
  private final Optional<ProcFs> procFs;
  private final long ticksPerSecond;
  private final LongSupplier nanoTime;

  /** The previous /proc reading of each process, with when it was taken (System.nanoTime). */
  private final Map<Long, Timed> previousReadings = new ConcurrentHashMap<>();

  private long[] previousTicks;
  private long slowPartsReadAtMs;
  private boolean slowPartsRead;
  private long diskTotal;
  private long diskFree;
  private List<NetworkIF> networks = List.of();

  private record Timed(ProcFs.Reading reading, long nanos) {}

  public ResourceMonitor(Clock clock) {
    this.clock = clock;
    Path proc = Path.of("/proc");
    if (SystemInfo.getCurrentPlatform() == PlatformEnum.LINUX && ProcFs.available(proc)) {
      procFs = Optional.of(new ProcFs(proc, LinuxOperatingSystem.getPageSize()));
      ticksPerSecond = LinuxOperatingSystem.getHz();
    } else {
      procFs = Optional.empty();
      ticksPerSecond = 0;
    }
    nanoTime = System::nanoTime;
  }

  /**
   * Reads processes from {@code procFs} (tests: a directory laid out like /proc), or through OSHI;
   * {@code nanoTime} times the readings (tests: a fake source moved with the fake CPU ticks).
   */
  ResourceMonitor(
      Clock clock, Optional<ProcFs> procFs, long ticksPerSecond, LongSupplier nanoTime) {
    this.clock = clock;
    this.procFs = procFs;
    this.ticksPerSecond = ticksPerSecond;
    this.nanoTime = nanoTime;
  }

  /** A sample of process {@code pid}; empty when it is gone. */
  public Optional<ProcessSample> sample(long pid) {
    return procFs.isPresent() ? sampleProcFs(procFs.get(), pid) : sampleOshi(pid);
  }

  /**
   * CPU is the ticks used since the previous reading over the elapsed time between the two
   * readings, timed with {@code nanoTime} (System.nanoTime, not the clock: the clock only stamps
   * the sample, and a wall clock may jump).
   */
  private Optional<ProcessSample> sampleProcFs(ProcFs fs, long pid) {
    long nanos = nanoTime.getAsLong();
    Optional<ProcFs.Reading> read = fs.read(pid);
    if (read.isEmpty()) {
      previousReadings.remove(pid);
      return Optional.empty();
    }
    ProcFs.Reading now = read.get();
    Timed before = previousReadings.put(pid, new Timed(now, nanos));
    double cpu = 0;
    if (before != null
        && before.reading().startTicks() == now.startTicks()
        && nanos > before.nanos()) {
      double usedSeconds = (now.cpuTicks() - before.reading().cpuTicks()) / (double) ticksPerSecond;
      cpu = Math.max(0, usedSeconds / ((nanos - before.nanos()) / 1e9) * 100);
    }
    return Optional.of(
        new ProcessSample(
            clock.instant(),
            Math.round(cpu * 10) / 10.0,
            now.rssBytes(),
            now.virtualBytes(),
            now.threads(),
            now.openFiles(),
            now.readBytes(),
            now.writeBytes()));
  }

  private Optional<ProcessSample> sampleOshi(long pid) {
    OSProcess now = os.getProcess((int) pid);
    if (now == null) {
      previous.remove(pid);
      return Optional.empty();
    }
    OSProcess before = previous.put(pid, now);
    double cpu = before == null ? 0 : Math.max(0, now.getProcessCpuLoadBetweenTicks(before) * 100);
    return Optional.of(
        new ProcessSample(
            clock.instant(),
            Math.round(cpu * 10) / 10.0,
            now.getResidentSetSize(),
            now.getVirtualSize(),
            now.getThreadCount(),
            now.getOpenFiles(),
            now.getBytesRead(),
            now.getBytesWritten()));
  }

  /**
   * Forgets the previous readings of every process but {@code live}: an agent that exited between
   * two rounds is never sampled again, and a crash-looping one leaves a new pid each restart.
   */
  public void retainOnly(Set<Long> live) {
    previous.keySet().retainAll(live);
    previousReadings.keySet().retainAll(live);
  }

  public synchronized HostSample host() {
    CentralProcessor cpu = hardware.getProcessor();
    long[] ticks = cpu.getSystemCpuLoadTicks();
    double load = previousTicks == null ? 0 : cpu.getSystemCpuLoadBetweenTicks(previousTicks) * 100;
    previousTicks = ticks;
    GlobalMemory memory = hardware.getMemory();
    double[] avg = cpu.getSystemLoadAverage(3);
    long nowMs = clock.millis();
    if (!slowPartsRead || nowMs - slowPartsReadAtMs >= SLOW_PARTS_TTL.toMillis()) {
      readSlowParts();
      slowPartsReadAtMs = nowMs;
      slowPartsRead = true;
    } else {
      networks.forEach(NetworkIF::updateAttributes);
    }
    long received = 0;
    long sent = 0;
    for (NetworkIF net : networks) {
      received += net.getBytesRecv();
      sent += net.getBytesSent();
    }
    return new HostSample(
        clock.instant(),
        Math.round(load * 10) / 10.0,
        cpu.getLogicalProcessorCount(),
        memory.getTotal(),
        memory.getAvailable(),
        memory.getVirtualMemory().getSwapTotal(),
        memory.getVirtualMemory().getSwapUsed(),
        avg[0],
        avg[1],
        avg[2],
        os.getSystemUptime(),
        diskTotal,
        diskFree,
        received,
        sent);
  }

  private void readSlowParts() {
    long total = 0;
    long free = 0;
    for (OSFileStore store : os.getFileSystem().getFileStores(true)) {
      total += store.getTotalSpace();
      free += store.getUsableSpace();
    }
    diskTotal = total;
    diskFree = free;
    networks = hardware.getNetworkIFs();
  }
}
