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
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The single writer of fleet state. Link sessions submit writes; one thread takes everything queued
 * (up to {@value #MAX_BATCH} writes), applies it in one transaction, and only then acknowledges each
 * session's highest sequence number in the batch. Many daemons' deltas thus share one commit.
 *
 * <p>{@link #submit} never blocks. When the database fails, the same batch is retried with backoff
 * until it commits (nothing is acknowledged meanwhile), so no acknowledged change is ever lost.
 */
public final class StateWriter implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(StateWriter.class.getName());
  static final int MAX_BATCH = 5_000;
  private static final int MAX_TRACED = 32;
  private static final int MAX_EXAMINED = 1024;

  /** Who to acknowledge after a commit. */
  interface Acker {
    void ack(long seq);
  }

  private record Item(FleetWrite write, Acker acker, long seq, List<ByteString> traces, long queuedNanos) {}

  private final FleetRepository repository;
  private final SessionRegistry registry;
  private final Tracer tracer;
  private final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private volatile boolean running = true;
  private final List<Consumer<List<FleetWrite>>> afterCommit = new CopyOnWriteArrayList<>();

  /**
   * Runs {@code hook} on the writer thread after each commit with the writes committed (in
   * order); it must not block. Register hooks before the first write.
   */
  public void afterCommit(Consumer<List<FleetWrite>> hook) {
    afterCommit.add(hook);
  }

  private final LongCounter applied;
  private final DoubleHistogram batchSize;
  private final DoubleHistogram commitSeconds;
  private final DoubleHistogram ackLagSeconds;

  public StateWriter(FleetRepository repository, SessionRegistry registry, Tracer tracer) {
    this(repository, registry, tracer, io.opentelemetry.api.metrics.MeterProvider.noop().get("noop"));
  }

  /** @param meter where the writer's metrics go (see observability/METRICS.md) */
  public StateWriter(FleetRepository repository, SessionRegistry registry, Tracer tracer, Meter meter) {
    this.applied = meter.counterBuilder("ops.manager.writes.applied").setUnit("{write}")
        .setDescription("Fleet writes (agent states, node changes) committed to the database").build();
    this.batchSize = meter.histogramBuilder("ops.manager.batch.size").setUnit("{write}")
        .setDescription("Writes per committed batch")
        .setExplicitBucketBoundariesAdvice(List.of(1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0)).build();
    this.commitSeconds = meter.histogramBuilder("ops.manager.commit.duration").setUnit("s")
        .setDescription("Time to apply and commit one batch")
        .setExplicitBucketBoundariesAdvice(List.of(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0))
        .build();
    this.ackLagSeconds = meter.histogramBuilder("ops.manager.ack.lag").setUnit("s")
        .setDescription("Time from a write's arrival to its acknowledgement (after commit)")
        .setExplicitBucketBoundariesAdvice(List.of(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0))
        .build();
    this.repository = repository;
    this.registry = registry;
    this.tracer = tracer;
    this.thread = Thread.ofPlatform().name("state-writer").daemon(true).start(this::run);
  }

  /** Queues a write that needs no acknowledgement. */
  public void submit(FleetWrite write) {
    queue.add(new Item(write, null, 0, List.of(), System.nanoTime()));
  }

  /** Queues a write; {@code acker} hears {@code seq} once it is committed. */
  void submit(FleetWrite write, Acker acker, long seq, List<ByteString> traces) {
    queue.add(new Item(write, acker, seq, traces, System.nanoTime()));
  }

  /** Writes queued but not yet committed. */
  public int backlog() {
    return queue.size();
  }

  private void run() {
    List<Item> batch = new ArrayList<>();
    while (running || !queue.isEmpty()) {
      try {
        Item first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, MAX_BATCH - 1);
        List<FleetWrite> committed = applyWithRetry(batch);
        acknowledge(batch);
        long now = System.nanoTime();
        applied.add(committed.size());
        batchSize.record(batch.size());
        for (Item item : batch) {
          if (item.acker() != null) {
            ackLagSeconds.record((now - item.queuedNanos()) / 1e9);
          }
        }
        for (Consumer<List<FleetWrite>> hook : afterCommit) {
          hook.accept(committed);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        LOG.log(Level.SEVERE, "state writer failed on a batch of " + batch.size(), e);
      } finally {
        batch.clear();
      }
    }
  }

  private List<FleetWrite> applyWithRetry(List<Item> batch) throws InterruptedException {
    List<FleetWrite> writes = new ArrayList<>(batch.size());
    for (Item item : batch) {
      if (item.write() instanceof FleetWrite.NodeOffline off && registry.connected(off.nodeId())) {
        continue; // the node came back before its grace period ran out
      }
      writes.add(item.write());
    }
    long backoffMs = 200;
    while (true) {
      long start = System.currentTimeMillis();
      try {
        long began = System.nanoTime();
        repository.apply(writes);
        commitSeconds.record((System.nanoTime() - began) / 1e9);
        traceCommit(batch, start, System.currentTimeMillis());
        return writes;
      } catch (RuntimeException e) {
        if (!running) {
          throw e;
        }
        LOG.log(Level.WARNING, "committing " + writes.size() + " fleet writes failed; retrying in "
            + backoffMs + " ms", e);
        Thread.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  private static void acknowledge(List<Item> batch) {
    Map<Acker, Long> highest = new IdentityHashMap<>();
    for (Item item : batch) {
      if (item.acker() != null) {
        highest.merge(item.acker(), item.seq(), Math::max);
      }
    }
    highest.forEach(Acker::ack);
  }

  /**
   * One span per distinct trace that a change in this batch belongs to (at most {@value
   * #MAX_TRACED}, from the first {@value #MAX_EXAMINED} traced changes), parented on the change's context, so an operation's trace ends in the write
   * that made its result durable; plus one span for the batch, linked to them.
   */
  private void traceCommit(List<Item> batch, long startMs, long endMs) {
    // Looks at no more than MAX_EXAMINED carriers and stops at MAX_TRACED distinct sampled
    // traces: with every delta traced, a batch can hold a hundred thousand of them.
    Map<String, SpanContext> contexts = new LinkedHashMap<>();
    int examined = 0;
    scan:
    for (Item item : batch) {
      for (ByteString carrier : item.traces()) {
        if (contexts.size() >= MAX_TRACED || examined++ >= MAX_EXAMINED) {
          break scan;
        }
        SpanContext sc = TraceContextCarrier.spanContext(carrier.toByteArray());
        if (sc.isValid() && sc.isSampled()) {
          contexts.putIfAbsent(sc.getTraceId(), sc);
        }
      }
    }
    if (contexts.isEmpty()) {
      return;
    }
    SpanBuilder batchSpan =
        tracer.spanBuilder("fleet.apply batch")
            .setNoParent()
            .setStartTimestamp(startMs, TimeUnit.MILLISECONDS)
            .setAttribute("db.system", "sql")
            .setAttribute("ops.batch.size", batch.size());
    contexts.values().forEach(batchSpan::addLink);
    batchSpan.startSpan().end(Instant.ofEpochMilli(endMs));
    for (SpanContext sc : contexts.values()) {
      Span span =
          tracer.spanBuilder("fleet.apply agent state")
              .setParent(Context.root().with(Span.wrap(sc)))
              .setStartTimestamp(startMs, TimeUnit.MILLISECONDS)
              .setAttribute("db.operation.name", "MERGE")
              .setAttribute("db.collection.name", "agents")
              .setAttribute("ops.batch.size", batch.size())
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
