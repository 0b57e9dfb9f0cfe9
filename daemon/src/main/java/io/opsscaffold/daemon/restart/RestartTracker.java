package io.opsscaffold.daemon.restart;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.DoubleSupplier;

/**
 * Decides "restart after X, or stay stopped" for one agent, like Nomad's restart tracker: delays
 * grow exponentially from the initial delay to the cap, with jitter (each delay between 80 % and
 * 100 % of its step, so restarts of many agents spread out); a run that lasted {@code reset-after}
 * forgets earlier failures; {@code crash-loop-after} consecutive failures mark a crash loop, which
 * is still retried at the capped interval, never given up.
 *
 * <p>Pure given its clock and random source; not thread-safe (owned by the agent's runner).
 */
public final class RestartTracker {
  private final RestartPolicy policy;
  private final Clock clock;
  private final DoubleSupplier random;
  private Instant lastStart;
  private int failures;

  public RestartTracker(RestartPolicy policy, Clock clock, DoubleSupplier random) {
    this.policy = policy;
    this.clock = clock;
    this.random = random;
  }

  /** The process was launched now. */
  public void started() {
    lastStart = clock.instant();
  }

  /** The process exited with {@code exitCode} without anyone asking it to. */
  public RestartDecision exited(int exitCode) {
    Instant now = clock.instant();
    if (lastStart != null && Duration.between(lastStart, now).compareTo(policy.resetAfter()) >= 0) {
      failures = 0;
    }
    if (!policy.wantsRestart(exitCode)) {
      return RestartDecision.stay(exitCode == 0 ? 0 : failures + 1);
    }
    failures++;
    return next();
  }

  /** The process could not even be launched (missing binary, permission). */
  public RestartDecision launchFailed() {
    if (policy.mode() == RestartPolicy.Mode.NEVER) {
      return RestartDecision.stay(++failures);
    }
    failures++;
    return next();
  }

  /** The daemon restarts the agent on purpose (unhealthy): counted as a failure, same backoff. */
  public RestartDecision unhealthy() {
    failures++;
    return next();
  }

  /** An operator started or restarted it: earlier failures no longer count. */
  public void reset() {
    failures = 0;
  }

  public int failures() {
    return failures;
  }

  private RestartDecision next() {
    double step = policy.initialDelay().toMillis() * Math.pow(policy.multiplier(), failures - 1);
    double capped = Math.min(step, policy.maxDelay().toMillis());
    long delay = Math.round(capped * (1.0 - 0.2 * random.getAsDouble()));
    return new RestartDecision(
        java.util.Optional.of(Duration.ofMillis(Math.max(0, delay))),
        failures,
        failures >= policy.crashLoopAfter());
  }
}
