package io.opsscaffold.agent.resources;

import oshi.SystemInfo;
import oshi.software.os.OSProcess;

/**
 * The agent's own CPU and memory, read through OSHI. Thread-safe; each {@link #sample} measures CPU
 * since the previous one.
 */
public final class SelfMonitor {
  /** One measurement: CPU as percent of one core (0 to 100), resident memory in bytes. */
  public record Usage(double cpuPercent, long rssBytes) {}

  private final OSProcess self;
  private OSProcess previous;

  public SelfMonitor() {
    this.self = new SystemInfo().getOperatingSystem().getCurrentProcess();
    this.previous = self;
  }

  public synchronized Usage sample() {
    if (!self.updateAttributes()) {
      return new Usage(0, 0);
    }
    double load = self.getProcessCpuLoadBetweenTicks(previous);
    previous = snapshot();
    double percent = Math.max(0, Math.min(100, load * 100));
    return new Usage(Math.round(percent * 10) / 10.0, self.getResidentSetSize());
  }

  private OSProcess snapshot() {
    OSProcess copy = new SystemInfo().getOperatingSystem().getProcess(self.getProcessID());
    return copy == null ? self : copy;
  }
}
