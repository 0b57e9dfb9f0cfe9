package io.opsscaffold.daemon.monitor;

import java.time.Instant;

/**
 * One measurement of an agent process.
 *
 * @param cpuPercent CPU used since the previous sample, percent of one core (may exceed 100 on
 *     several cores)
 */
public record ProcessSample(
    Instant at,
    double cpuPercent,
    long rssBytes,
    long virtualBytes,
    int threads,
    long openFiles,
    long readBytes,
    long writeBytes) {}
