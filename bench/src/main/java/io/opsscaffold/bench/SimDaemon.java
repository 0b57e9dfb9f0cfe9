package io.opsscaffold.bench;

import com.google.protobuf.ByteString;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.link.v1.AgentDelta;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonLinkServiceGrpc;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Deltas;
import io.opsscaffold.api.link.v1.FullState;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.api.link.v1.Ping;
import io.opsscaffold.api.status.v1.Health;
import io.opsscaffold.api.status.v1.Lifecycle;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * One simulated daemon: its own gRPC connection and one link stream, as a real daemon keeps. It
 * says Hello, sends FullState of its agents, then Deltas when asked; answers commands at once; and
 * reconnects with jittered exponential backoff (starting again with Hello and FullState) when the
 * stream ends. Acks tell it what the manager has committed.
 */
final class SimDaemon implements AutoCloseable {
  /** How the simulated daemons' streams ended, by status and the start of its description. */
  static final java.util.concurrent.ConcurrentMap<String, java.util.concurrent.atomic.LongAdder>
      STREAM_ENDS = new java.util.concurrent.ConcurrentHashMap<>();

  private final String nodeId;
  private final int agents;
  private volatile ManagedChannel channel;

  /** The node's key and certificate once enrolled (for a manager with TLS). */
  volatile java.security.KeyPair key;

  volatile java.security.cert.X509Certificate certificate;
  private final Random random;
  private final Object lock = new Object();
  private StreamObserver<DaemonMessage> out;
  private long seq;
  private long acked;

  /**
   * Seqs of the state messages (FullState, Deltas) not yet acknowledged, oldest first: the window.
   * Pings and command results take seqs too, but the manager acknowledges only state, so counting
   * them would stall a daemon that had been idle for a few ping intervals.
   */
  private final java.util.ArrayDeque<Long> unackedState = new java.util.ArrayDeque<>();

  private long fullStateSeq = -1;
  private volatile boolean synced;
  private volatile boolean closed;
  private volatile long lastSentNanos;
  private volatile int failures;
  private long change;

  /** Send time of each delta message whose latency is measured, by seq. */
  private final ConcurrentSkipListMap<Long, Long> timed = new ConcurrentSkipListMap<>();

  private volatile LongConsumer latencySink = x -> {};
  private volatile Runnable onSynced = () -> {};
  private volatile boolean traced;

  /**
   * Sampled trace contexts the deltas take turns carrying when traced: distinct traces, built once,
   * because on a real fleet building them is each daemon's own work on its own host, and here the
   * simulator shares the manager's cores.
   */
  private static final int TRACE_POOL = 256;

  private final ByteString[] traceContexts = new ByteString[TRACE_POOL];
  private int nextTrace;

  SimDaemon(ManagedChannel channel, String nodeId, int agents, long seed) {
    this.nodeId = nodeId;
    this.agents = agents;
    this.random = new Random(seed);
    for (int i = 0; i < TRACE_POOL; i++) {
      traceContexts[i] = randomTraceContext();
    }
    this.channel = channel;
  }

  String nodeId() {
    return nodeId;
  }

  /** Uses {@code next} from the next connect on (the current stream, if any, is left alone). */
  void useChannel(ManagedChannel next) {
    ManagedChannel old = channel;
    channel = next;
    old.shutdownNow();
  }

  /**
   * Opens the stream: Hello, then FullState. {@link #synced} once the FullState is acknowledged.
   */
  void connect() {
    synchronized (lock) {
      synced = false;
      seq = 0;
      acked = 0;
      unackedState.clear();
      timed.clear();
      out = DaemonLinkServiceGrpc.newStub(channel).connect(new Receiver());
      send(
          DaemonMessage.newBuilder()
              .setHello(
                  Hello.newBuilder()
                      .setNodeId(nodeId)
                      .setHostname(nodeId)
                      .setIp("10." + (nodeId.hashCode() & 0xff) + ".0.1")
                      .setDaemonVersion("bench")
                      .setProtocolVersion(1)
                      .setDaemonInstanceId(nodeId + "-" + System.nanoTime())
                      .setLabels(
                          NodeLabels.newBuilder().setArea("bench-" + (nodeId.hashCode() & 3)))));
      FullState.Builder full = FullState.newBuilder();
      for (int i = 0; i < agents; i++) {
        full.addAgents(state(i));
      }
      fullStateSeq = send(DaemonMessage.newBuilder().setFullState(full));
      unackedState.add(fullStateSeq);
    }
  }

  boolean synced() {
    return synced;
  }

  void onSynced(Runnable r) {
    this.onSynced = r;
  }

  /** Hears the commit latency (ns) of each timed delta. */
  void latencySink(LongConsumer sink) {
    this.latencySink = sink;
  }

  /**
   * With tracing on, every agent delta carries a sampled W3C trace context of its own, as a real
   * daemon's do when each heartbeat or operation that changed the agent is traced.
   */
  void traced(boolean on) {
    this.traced = on;
  }

  /** Waits (up to 5 s) until fewer than {@code window} state messages are unacknowledged. */
  void awaitWindow(long window) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    synchronized (lock) {
      while (unackedState.size() >= window && System.nanoTime() < deadline && !closed) {
        lock.wait(50);
      }
    }
  }

  /** Sends one Deltas message changing {@code count} agents; returns its seq. */
  long sendDeltas(int count, boolean timedLatency) {
    Deltas.Builder d = Deltas.newBuilder();
    long now = System.currentTimeMillis();
    for (int i = 0; i < count; i++) {
      AgentDelta.Builder delta =
          AgentDelta.newBuilder()
              .setState(state(random.nextInt(agents)))
              .setObservedAt(Timestamps.fromMillis(now));
      if (traced) {
        delta.setTraceContext(traceContexts[nextTrace++ & (TRACE_POOL - 1)]);
      }
      d.addDeltas(delta);
    }
    synchronized (lock) {
      long s = send(DaemonMessage.newBuilder().setDeltas(d));
      unackedState.add(s);
      if (timedLatency) {
        timed.put(s, System.nanoTime());
      }
      return s;
    }
  }

  /** A random sampled trace context in the link's binary form (link.proto, AgentDelta). */
  private ByteString randomTraceContext() {
    byte[] b = new byte[25]; // trace id 16 bytes, span id 8, flags 1
    random.nextBytes(b);
    b[24] = 1; // sampled
    return ByteString.copyFrom(b);
  }

  /**
   * Sends a Ping when nothing went out for 2 s (the manager drops streams silent for 3 ping
   * intervals, 15 s here), also while the FullState waits for its Ack, as a real daemon does.
   */
  void keepAlive() {
    if (System.nanoTime() - lastSentNanos > TimeUnit.SECONDS.toNanos(2) && out != null) {
      synchronized (lock) {
        send(DaemonMessage.newBuilder().setPing(Ping.getDefaultInstance()));
      }
    }
  }

  private AgentState state(int i) {
    long c = ++change;
    return AgentState.newBuilder()
        .setAgentId("agent-" + i)
        .setType("bench")
        .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
        .setHealth(Health.HEALTH_HEALTHY)
        .setPid(1000 + i)
        .setRestartCount((int) (c % 7))
        .setLastHeartbeat(Timestamps.fromMillis(System.currentTimeMillis()))
        .setMessage("change " + c)
        .build();
  }

  /** Sends under {@code lock}. */
  private long send(DaemonMessage.Builder m) {
    if (out == null) {
      return seq;
    }
    try {
      out.onNext(m.setSeq(++seq).build());
      lastSentNanos = System.nanoTime();
    } catch (RuntimeException e) {
      // the stream is gone; the receiver reconnects
    }
    return seq;
  }

  private void acked(long ackSeq) {
    List<Long> done = new ArrayList<>();
    long now = System.nanoTime();
    synchronized (lock) {
      acked = Math.max(acked, ackSeq);
      while (!unackedState.isEmpty() && unackedState.peekFirst() <= ackSeq) {
        unackedState.pollFirst();
      }
      if (!synced && fullStateSeq > 0 && acked >= fullStateSeq) {
        synced = true;
        failures = 0;
        onSynced.run();
      }
      lock.notifyAll();
    }
    var head = timed.headMap(ackSeq, true);
    for (var e : head.entrySet()) {
      done.add(now - e.getValue());
    }
    head.clear();
    done.forEach(latencySink::accept);
  }

  private final class Receiver implements StreamObserver<ManagerMessage> {

    @Override
    public void onNext(ManagerMessage m) {
      switch (m.getBodyCase()) {
        case ACK -> acked(m.getAck().getSeq());
        case COMMAND -> {
          synchronized (lock) {
            var c = m.getCommand();
            send(
                DaemonMessage.newBuilder()
                    .setCommandResult(
                        CommandResult.newBuilder()
                            .setCommandId(c.getCommandId())
                            .setSuccess(true)
                            .setMessage("done")
                            .setAgent(
                                state(0).toBuilder()
                                    .setAgentId(
                                        c.hasOperate()
                                            ? c.getOperate().getAgentId()
                                            : "agent-0"))));
          }
        }
        case RESYNC -> {
          synchronized (lock) {
            FullState.Builder full = FullState.newBuilder();
            for (int i = 0; i < agents; i++) {
              full.addAgents(state(i));
            }
            unackedState.add(send(DaemonMessage.newBuilder().setFullState(full)));
          }
        }
        default -> {}
      }
    }

    @Override
    public void onError(Throwable t) {
      io.grpc.Status status = io.grpc.Status.fromThrowable(t);
      String description = String.valueOf(status.getDescription());
      STREAM_ENDS
          .computeIfAbsent(
              status.getCode()
                  + ": "
                  + description.substring(0, Math.min(80, description.length())),
              k -> new java.util.concurrent.atomic.LongAdder())
          .increment();
      reconnect();
    }

    @Override
    public void onCompleted() {
      STREAM_ENDS
          .computeIfAbsent(
              "completed by the manager", k -> new java.util.concurrent.atomic.LongAdder())
          .increment();
      reconnect();
    }

    private void reconnect() {
      synced = false;
      if (closed) {
        return;
      }
      failures++;
      long base = Math.min(2_000, 100L << Math.min(failures, 5));
      long delay = base / 2 + random.nextLong(base / 2 + 1); // jitter: 50 % to 100 % of the step
      Thread.ofVirtual()
          .start(
              () -> {
                try {
                  Thread.sleep(delay);
                } catch (InterruptedException e) {
                  return;
                }
                if (!closed) {
                  connect();
                }
              });
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (lock) {
      try {
        if (out != null) {
          out.onCompleted();
        }
      } catch (RuntimeException ignored) {
        // already gone
      }
    }
    channel.shutdownNow();
  }
}
