package io.opsscaffold.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The second process of the heartbeat ingestion benchmark: sends heartbeats to a daemon over HTTP
 * ({@code POST /heartbeat}, keep-alive) or over its Unix socket (JSON-RPC, one line per request)
 * from {@code connections} connections in a closed loop, each waiting for its answer before the
 * next request, and prints {@code key=value} lines: heartbeats answered per second and latency
 * percentiles. Every heartbeat names a real supervised agent with its real pid, so the daemon does
 * all its work (validation, pid check, the agent's state update and the delta to the manager).
 *
 * <p>Usage: {@code HeartbeatLoad http 127.0.0.1:PORT|socket PATH agent:pid,... seconds
 * connections}; {@code agent:self} when the daemon runs this process as that agent.
 */
public final class HeartbeatLoad {
  private HeartbeatLoad() {}

  private record Target(String agentId, long pid) {}

  private interface Conn extends AutoCloseable {
    /** Sends one heartbeat and reads its answer; false when the daemon refused it. */
    boolean call(Target t) throws IOException;

    @Override
    void close() throws IOException;
  }

  public static void main(String[] args) throws Exception {
    String transport = args[0];
    String address = args[1];
    List<Target> targets = new ArrayList<>();
    for (String t : args[2].split(",")) {
      String pid = t.substring(t.lastIndexOf(':') + 1);
      targets.add(
          new Target(
              t.substring(0, t.lastIndexOf(':')),
              // "self": this process is the agent (run by the daemon), so its heartbeats are
              // the agent's own, verified by the daemon as a real agent's are
              pid.equals("self") ? ProcessHandle.current().pid() : Long.parseLong(pid)));
    }
    int seconds = Integer.parseInt(args[3]);
    int connections = Integer.parseInt(args[4]);

    // A short warm-up, then the measured window.
    run(transport, address, targets, Math.min(3, seconds), connections);
    double cpuBefore = ProcStats.cpuSeconds(ProcessHandle.current().pid());
    Map<String, Object> r = run(transport, address, targets, seconds, connections);
    r.put(
        "generator_cpu_cores",
        (ProcStats.cpuSeconds(ProcessHandle.current().pid()) - cpuBefore)
            / (double) r.remove("seconds"));
    r.forEach((k, v) -> System.out.println(k + "=" + v));
  }

  private static Map<String, Object> run(
      String transport, String address, List<Target> targets, int seconds, int connections)
      throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long[][] latencies = new long[connections][];
    int[] counts = new int[connections];
    int[] refused = new int[connections];
    List<Thread> threads = new ArrayList<>();
    long began = System.nanoTime();
    for (int c = 0; c < connections; c++) {
      int me = c;
      threads.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    long[] mine = new long[1 << 16];
                    int n = 0;
                    try (Conn conn =
                        transport.equals("http")
                            ? new HttpConn(address)
                            : new SocketConn(address)) {
                      int i = me;
                      while (System.nanoTime() < end) {
                        long t0 = System.nanoTime();
                        if (!conn.call(targets.get(i++ % targets.size()))) {
                          refused[me]++;
                        }
                        if (n == mine.length) {
                          mine = Arrays.copyOf(mine, n * 2);
                        }
                        mine[n++] = System.nanoTime() - t0;
                      }
                    } catch (IOException e) {
                      throw new IllegalStateException("heartbeat connection failed: " + e, e);
                    }
                    latencies[me] = Arrays.copyOf(mine, n);
                    counts[me] = n;
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    double secs = (System.nanoTime() - began) / 1e9;
    long[] all = Arrays.stream(latencies).flatMapToLong(Arrays::stream).sorted().toArray();
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("transport", transport);
    r.put("connections", connections);
    r.put("heartbeats", all.length);
    r.put("refused", Arrays.stream(refused).sum());
    r.put("per_s", all.length / secs);
    r.put("p50_ms", pct(all, 50));
    r.put("p99_ms", pct(all, 99));
    r.put("max_ms", pct(all, 100));
    r.put("seconds", secs);
    return r;
  }

  private static double pct(long[] sorted, int p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int i =
        Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1));
    return sorted[i] / 1e6;
  }

  private static String body(Target t) {
    return "{\"agent_id\":\""
        + t.agentId()
        + "\",\"pid\":"
        + t.pid()
        + ",\"status\":\"running\",\"timestamp\":\""
        + Instant.now()
        + "\"}";
  }

  /** HTTP/1.1 with keep-alive over one TCP connection: request out, status and body back. */
  private static final class HttpConn implements Conn {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final String host;

    HttpConn(String hostPort) throws IOException {
      this.host = hostPort;
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(
          new InetSocketAddress(
              hostPort.substring(0, hostPort.lastIndexOf(':')),
              Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1))));
      out = socket.getOutputStream();
      in = new BufferedInputStream(socket.getInputStream(), 8192);
    }

    @Override
    public boolean call(Target t) throws IOException {
      byte[] body = body(t).getBytes(StandardCharsets.UTF_8);
      byte[] head =
          ("POST /heartbeat HTTP/1.1\r\nHost: "
                  + host
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);
      byte[] request = Arrays.copyOf(head, head.length + body.length);
      System.arraycopy(body, 0, request, head.length, body.length);
      out.write(request);
      out.flush();
      String status = line();
      int length = 0;
      for (String h = line(); !h.isEmpty(); h = line()) {
        if (h.regionMatches(true, 0, "content-length:", 0, 15)) {
          length = Integer.parseInt(h.substring(15).strip());
        }
      }
      in.readNBytes(length);
      return status.startsWith("HTTP/1.1 2");
    }

    private String line() throws IOException {
      StringBuilder sb = new StringBuilder(64);
      for (int b = in.read(); b != '\n'; b = in.read()) {
        if (b < 0) {
          throw new IOException("the daemon closed the connection");
        }
        if (b != '\r') {
          sb.append((char) b);
        }
      }
      return sb.toString();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /** JSON-RPC 2.0 over the daemon's Unix socket: one request line out, one answer line back. */
  private static final class SocketConn implements Conn {
    private final SocketChannel channel;
    private final OutputStream out;
    private final InputStream in;
    private long id;

    SocketConn(String path) throws IOException {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.connect(UnixDomainSocketAddress.of(path));
      out = Channels.newOutputStream(channel);
      in = new BufferedInputStream(Channels.newInputStream(channel), 8192);
    }

    @Override
    public boolean call(Target t) throws IOException {
      out.write(
          ("{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
                  + body(t)
                  + ",\"id\":"
                  + (++id)
                  + "}\n")
              .getBytes(StandardCharsets.UTF_8));
      out.flush();
      StringBuilder sb = new StringBuilder(96);
      for (int b = in.read(); b != '\n'; b = in.read()) {
        if (b < 0) {
          throw new IOException("the daemon closed the socket");
        }
        sb.append((char) b);
      }
      return sb.indexOf("\"result\"") >= 0;
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }
  }
}
