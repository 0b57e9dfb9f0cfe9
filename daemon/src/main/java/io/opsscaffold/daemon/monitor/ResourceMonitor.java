package io.opsscaffold.daemon.monitor;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.hardware.GlobalMemory;
import oshi.hardware.HardwareAbstractionLayer;
import oshi.hardware.NetworkIF;
import oshi.software.os.OSFileStore;
import oshi.software.os.OSProcess;
import oshi.software.os.OperatingSystem;

/**
 * Measures agent processes and the host through OSHI. CPU figures are deltas since the previous
 * sample of the same process (or of the host), so the first sample of a process reads 0.
 * Thread-safe; each call reads /proc.
 *
 * <p>Disk space and the set of network interfaces are read at most once per {@link
 * #SLOW_PARTS_TTL}: they change rarely, and reading them (OSHI walks the mounts and enumerates the
 * interfaces) cost about five times the rest of a host sample, most of the daemon's idle work.
 * Interface counters are refreshed on every sample.
 */
public final class ResourceMonitor {
  static final Duration SLOW_PARTS_TTL = Duration.ofSeconds(60);

  private final SystemInfo system = new SystemInfo();
  private final OperatingSystem os = system.getOperatingSystem();
  private final HardwareAbstractionLayer hardware = system.getHardware();
  private final Clock clock;
  private final Map<Long, OSProcess> previous = new ConcurrentHashMap<>();
  private long[] previousTicks;
  private long slowPartsReadAtMs;
  private boolean slowPartsRead;
  private long diskTotal;
  private long diskFree;
  private List<NetworkIF> networks = List.of();

  public ResourceMonitor(Clock clock) {
    this.clock = clock;
  }

  /** A sample of process {@code pid}; empty when it is gone. */
  public Optional<ProcessSample> sample(long pid) {
    OSProcess now = os.getProcess((int) pid);
    if (now == null) {
      previous.remove(pid);
      return Optional.empty();
    }
    OSProcess before = previous.put(pid, now);
    double cpu = before == null ? 0 : Math.max(0, now.getProcessCpuLoadBetweenTicks(before) * 100);
    return Optional.of(new ProcessSample(clock.instant(), Math.round(cpu * 10) / 10.0,
        now.getResidentSetSize(), now.getVirtualSize(), now.getThreadCount(), now.getOpenFiles(),
        now.getBytesRead(), now.getBytesWritten()));
  }

  /** Forgets a process (it exited). */
  public void forget(long pid) {
    previous.remove(pid);
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
    return new HostSample(clock.instant(), Math.round(load * 10) / 10.0, cpu.getLogicalProcessorCount(),
        memory.getTotal(), memory.getAvailable(), memory.getVirtualMemory().getSwapTotal(),
        memory.getVirtualMemory().getSwapUsed(), avg[0], avg[1], avg[2], os.getSystemUptime(),
        diskTotal, diskFree, received, sent);
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
