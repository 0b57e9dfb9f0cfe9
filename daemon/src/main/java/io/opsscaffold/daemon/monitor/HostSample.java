package io.opsscaffold.daemon.monitor;

import java.time.Instant;

/** One measurement of the host. CPU is percent of all cores together. */
public record HostSample(
    Instant at,
    double cpuPercent,
    int cores,
    long memoryTotalBytes,
    long memoryAvailableBytes,
    long swapTotalBytes,
    long swapUsedBytes,
    double load1,
    double load5,
    double load15,
    long uptimeSeconds,
    long diskTotalBytes,
    long diskFreeBytes,
    long networkReceivedBytes,
    long networkSentBytes) {}
