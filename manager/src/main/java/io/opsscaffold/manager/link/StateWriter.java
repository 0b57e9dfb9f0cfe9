package io.opsscaffold.manager.link;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.Tracer;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.observability.TraceContextCarrier;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
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

  /** Who to acknowledge after a commit. */
  interface Acker {
    void ack(long seq);
  }

  private record Item(FleetWrite write, Acker acker, long seq, List<Map<String, String>> traces) {}

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

  public StateWriter(FleetRepository repository, SessionRegistry registry, Tracer tracer) {
    this.repository = repository;
    this.registry = registry;
    this.tracer = tracer;
    this.thread = Thread.ofPlatform().name("state-writer").daemon(true).start(this::run);
  }

  /** Queues a write that needs no acknowledgement. */
  public void submit(FleetWrite write) {
    queue.add(new Item(write, null, 0, List.of()));
  }

  /** Queues a write; {@code acker} hears {@code seq} once it is committed. */
  void submit(FleetWrite write, Acker acker, long seq, List<Map<String, String>> traces) {
    queue.add(new Item(write, acker, seq, traces));
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
        repository.apply(writes);
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
   * #MAX_TRACED}), parented on the change's context, so an operation's trace ends in the write
   * that made its result durable; plus one span for the batch, linked to them.
   */
  private void traceCommit(List<Item> batch, long startMs, long endMs) {
    Map<String, SpanContext> contexts = new LinkedHashMap<>();
    for (Item item : batch) {
      for (Map<String, String> carrier : item.traces()) {
        SpanContext sc = TraceContextCarrier.spanContext(carrier);
        if (sc.isValid() && sc.isSampled() && contexts.size() < MAX_TRACED) {
          contexts.putIfAbsent(sc.getTraceId(), sc);
        }
      }
    }
    if (contexts.isEmpty()) {
      return;
    }
    Map<String, Map<String, String>> carriers = new HashMap<>();
    for (Item item : batch) {
      for (Map<String, String> carrier : item.traces()) {
        carriers.putIfAbsent(TraceContextCarrier.spanContext(carrier).getTraceId(), carrier);
      }
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
              .setParent(TraceContextCarrier.extract(carriers.get(sc.getTraceId())))
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
