package io.opsscaffold.daemon.api;

import com.google.protobuf.util.Timestamps;
import io.opsscaffold.daemon.monitor.HostSample;

/** Host samples to API messages. Stateless. */
public final class HostProtos {
  private HostProtos() {}

  public static io.opsscaffold.api.status.v1.HostStats host(HostSample h) {
    return io.opsscaffold.api.status.v1.HostStats.newBuilder()
        .setAt(Timestamps.fromMillis(h.at().toEpochMilli()))
        .setCpuPercent(h.cpuPercent())
        .setCores(h.cores())
        .setMemoryTotalBytes(h.memoryTotalBytes())
        .setMemoryAvailableBytes(h.memoryAvailableBytes())
        .setSwapTotalBytes(h.swapTotalBytes())
        .setSwapUsedBytes(h.swapUsedBytes())
        .setLoad1(h.load1())
        .setLoad5(h.load5())
        .setLoad15(h.load15())
        .setUptimeSeconds(h.uptimeSeconds())
        .setDiskTotalBytes(h.diskTotalBytes())
        .setDiskFreeBytes(h.diskFreeBytes())
        .setNetworkReceivedBytes(h.networkReceivedBytes())
        .setNetworkSentBytes(h.networkSentBytes())
        .build();
  }
}
