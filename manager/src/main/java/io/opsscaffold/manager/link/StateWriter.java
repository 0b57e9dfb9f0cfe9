package io.opsscaffold.manager.link;

import com.google.protobuf.ByteString;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.observability.TraceContextCarrier;
import io.opsscaffold.time.Time;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The single writer of fleet state. Link sessions submit writes; one thread takes everything
 * pending, applies it in one transaction, and only then acknowledges each session's highest
 * sequence number in it. Many daemons' deltas thus share one commit.
 *
 * <p>{@link #submit} never blocks. What waits is coalesced ({@link PendingWrites}): an agent's
 * newer state replaces the older one not yet written, so while the database is slow or down the
 * backlog is bounded by the number of agents, not by the time it lasts. When the database fails,
 * the same batch is retried with backoff until it commits (nothing is acknowledged meanwhile), so
 * no acknowledged change is ever lost.
 */
public final class StateWriter implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StateWriter.class.getName());
  private static final int MAX_TRACED = 32;
  private static final int MAX_EXAMINED = 1024;

  /** Who to acknowledge after a commit. */
  interface Acker {
    void ack(long seq);
  }

  private final FleetRepository repository;
  private final SessionRegistry registry;
  private final Tracer tracer;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition arrived = lock.newCondition();
  private PendingWrites pending = new PendingWrites(MAX_EXAMINED); // guarded by lock
  private final Thread thread;
  private volatile boolean running = true;

  // Set when a commit fails; cleared once the batch taken after the failed one committed too (it
  // holds what arrived during the outage, coalesced), or nothing more was pending. Writer thread
  // writes, anyone reads.
  private volatile boolean stalled;
  private boolean catchingUp;
  private boolean lastBatchRetried;
  private final List<Consumer<List<FleetWrite>>> afterCommit = new CopyOnWriteArrayList<>();

  /**
   * Runs {@code hook} on the writer thread after each commit with the writes committed (in order);
   * it must not block. Register hooks before the first write.
   */
  public void afterCommit(Consumer<List<FleetWrite>> hook) {
    afterCommit.add(hook);
  }

  private final Time time;
  private final LongCounter applied;
  private final DoubleHistogram batchSize;
  private final DoubleHistogram commitSeconds;
  private final DoubleHistogram ackLagSeconds;

  public StateWriter(
      FleetRepository repository, SessionRegistry registry, Tracer tracer, Time time) {
    this(
        repository,
        registry,
        tracer,
        io.opentelemetry.api.metrics.MeterProvider.noop().get("noop"),
        time);
  }

  /**
   * @param meter where the writer's metrics go (see observability/METRICS.md)
   * @param time the retry backoff waits on it; commit times and lags are measured with it
   */
  public StateWriter(
      FleetRepository repository, SessionRegistry registry, Tracer tracer, Meter meter, Time time) {
    this.time = time;
    this.applied =
        meter
            .counterBuilder("ops.manager.writes.applied")
            .setUnit("{write}")
            .setDescription("Fleet writes committed to the database, after coalescing")
            .build();
    this.batchSize =
        meter
            .histogramBuilder("ops.manager.batch.size")
            .setUnit("{write}")
            .setDescription("Writes per committed batch, after coalescing")
            .setExplicitBucketBoundariesAdvice(
                List.of(1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0))
            .build();
    this.commitSeconds =
        meter
            .histogramBuilder("ops.manager.commit.duration")
            .setUnit("s")
            .setDescription("Time to apply and commit one batch")
            .setExplicitBucketBoundariesAdvice(
                List.of(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0))
            .build();
    this.ackLagSeconds =
        meter
            .histogramBuilder("ops.manager.ack.lag")
            .setUnit("s")
            .setDescription(
                "Per session and batch: from its oldest write's arrival to the acknowledgement")
            .setExplicitBucketBoundariesAdvice(
                List.of(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0))
            .build();
    this.repository = repository;
    this.registry = registry;
    this.tracer = tracer;
    this.thread = Thread.ofPlatform().name("state-writer").daemon(true).start(this::run);
  }

  /** Queues a write that needs no acknowledgement. */
  public void submit(FleetWrite write) {
    submit(write, null, 0, List.of());
  }

  /** Queues a write; {@code acker} hears {@code seq} (or a later one) once it is committed. */
  void submit(FleetWrite write, Acker acker, long seq, List<ByteString> traces) {
    long now = time.nanos();
    lock.lock();
    try {
      boolean wasEmpty = pending.isEmpty();
      pending.add(write, acker, seq, traces, now);
      if (wasEmpty) {
        arrived.signal();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Writes waiting for the next transaction, after coalescing (agent states, node stats, others).
   */
  public int backlog() {
    lock.lock();
    try {
      return pending.size();
    } finally {
      lock.unlock();
    }
  }

  /** Everything pending, or null when nothing arrived within {@code millis}. */
  private PendingWrites take(long millis) throws InterruptedException {
    lock.lock();
    try {
      long nanos = TimeUnit.MILLISECONDS.toNanos(millis);
      while (pending.isEmpty()) {
        if (nanos <= 0) {
          return null;
        }
        nanos = arrived.awaitNanos(nanos);
      }
      PendingWrites taken = pending;
      pending = new PendingWrites(MAX_EXAMINED);
      return taken;
    } finally {
      lock.unlock();
    }
  }

  private boolean idle() {
    lock.lock();
    try {
      return pending.isEmpty();
    } finally {
      lock.unlock();
    }
  }

  private void run() {
    while (running || !idle()) {
      PendingWrites batch = null;
      try {
        batch = take(200);
        if (batch == null) {
          if (catchingUp) {
            caughtUp();
          }
          continue;
        }
        List<FleetWrite> committed = applyWithRetry(batch);
        batch.acks().forEach(Acker::ack);
        long now = time.nanos();
        applied.add(batch.size());
        batchSize.record(batch.size());
        batch.firstQueued().values().forEach(t -> ackLagSeconds.record((now - t) / 1e9));
        for (Consumer<List<FleetWrite>> hook : afterCommit) {
          hook.accept(committed);
        }
        if (lastBatchRetried) {
          catchingUp = true;
        } else if (catchingUp) {
          caughtUp();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        LOG.log(
            Level.SEVERE,
            "state writer failed on a batch of " + (batch == null ? 0 : batch.size()),
            e);
      }
    }
  }

  private List<FleetWrite> applyWithRetry(PendingWrites batch) throws InterruptedException {
    List<FleetWrite> writes = new ArrayList<>();
    for (FleetWrite write : batch.writes()) {
      if (write instanceof FleetWrite.NodeOffline off && registry.connected(off.nodeId())) {
        continue; // the node came back before its grace period ran out
      }
      writes.add(write);
    }
    long backoffMs = 200;
    lastBatchRetried = false;
    while (true) {
      long start = time.millis();
      try {
        long began = time.nanos();
        repository.apply(writes);
        commitSeconds.record((time.nanos() - began) / 1e9);
        traceCommit(batch.traces(), batch.size(), start, time.millis());
        return writes;
      } catch (RuntimeException e) {
        if (!running) {
          throw e;
        }
        lastBatchRetried = true;
        stalled = true;
        LOG.log(
            Level.WARNING,
            "committing "
                + batch.size()
                + " fleet writes failed; retrying in "
                + backoffMs
                + " ms (newer changes wait, coalesced)",
            e);
        time.sleep(java.time.Duration.ofMillis(backoffMs));
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  private void caughtUp() {
    catchingUp = false;
    stalled = false;
    LOG.info("fleet writes are committing again and caught up");
  }

  /**
   * Whether every change handed to the writer before its last failed commit is now committed: false
   * from a failed commit until the writes that waited meanwhile are in too. What is judged from the
   * committed state (a heartbeat's age) is not current while this is false.
   */
  public boolean current() {
    return !stalled;
  }

  /**
   * One span per distinct trace that a change in this batch belongs to (at most {@value
   * #MAX_TRACED}, from the first {@value #MAX_EXAMINED} traced changes), parented on the change's
   * context, so an operation's trace ends in the write that made its result durable; plus one span
   * for the batch, linked to them.
   */
  private void traceCommit(List<ByteString> carriers, int batchSize, long startMs, long endMs) {
    // Pending writes keep no more than MAX_EXAMINED carriers, and this stops at MAX_TRACED
    // distinct sampled traces: with every delta traced, a batch can hold a hundred thousand.
    Map<String, SpanContext> contexts = new LinkedHashMap<>();
    for (ByteString carrier : carriers) {
      if (contexts.size() >= MAX_TRACED) {
        break;
      }
      SpanContext sc = TraceContextCarrier.spanContext(carrier.toByteArray());
      if (sc.isValid() && sc.isSampled()) {
        contexts.putIfAbsent(sc.getTraceId(), sc);
      }
    }
    if (contexts.isEmpty()) {
      return;
    }
    SpanBuilder batchSpan =
        tracer
            .spanBuilder("fleet.apply batch")
            .setNoParent()
            .setStartTimestamp(startMs, TimeUnit.MILLISECONDS)
            .setAttribute("db.system", "sql")
            .setAttribute("ops.batch.size", batchSize);
    contexts.values().forEach(batchSpan::addLink);
    batchSpan.startSpan().end(Instant.ofEpochMilli(endMs));
    for (SpanContext sc : contexts.values()) {
      Span span =
          tracer
              .spanBuilder("fleet.apply agent state")
              .setParent(Context.root().with(Span.wrap(sc)))
              .setStartTimestamp(startMs, TimeUnit.MILLISECONDS)
              .setAttribute("db.operation.name", "MERGE")
              .setAttribute("db.collection.name", "agents")
              .setAttribute("ops.batch.size", batchSize)
              .startSpan();
      span.end(Instant.ofEpochMilli(endMs));
    }
  }

  /** Commits what is queued (waits up to 5 s), then stops the thread. */
  @Override
  public void close() {
    running = false;
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
