package io.opsscaffold.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on loopback that a test controls, to take a server away without stopping it (the
 * shared PostgreSQL of this machine must stay up): {@link #cut} closes every connection and refuses
 * new ones, {@link #restore} accepts again on the same port; {@link #freeze} makes the path drop
 * everything as a network partition does (connections stay open, bytes wait, new connections are
 * accepted and go nowhere) until {@link #thaw} lets the waiting bytes through.
 */
public final class TcpProxy implements AutoCloseable {
  private final String upstreamHost;
  private final int upstreamPort;
  private final int port;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile ServerSocket server;
  private final Object gate = new Object();
  private volatile boolean frozen;

  public TcpProxy(String upstreamHost, int upstreamPort) throws IOException {
    this.upstreamHost = upstreamHost;
    this.upstreamPort = upstreamPort;
    ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.port = s.getLocalPort();
    listen(s);
  }

  public int port() {
    return port;
  }

  private void listen(ServerSocket s) {
    server = s;
    Thread.ofVirtual()
        .start(
            () -> {
              while (!s.isClosed()) {
                try {
                  Socket client = s.accept();
                  Socket upstream = new Socket(upstreamHost, upstreamPort);
                  open.add(client);
                  open.add(upstream);
                  pump(client, upstream);
                  pump(upstream, client);
                } catch (IOException e) {
                  // closed by cut(), or the upstream refused: the client sees its socket close
                }
              }
            });
  }

  private void pump(Socket from, Socket to) {
    Thread.ofVirtual()
        .start(
            () -> {
              byte[] buffer = new byte[16 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buffer)) >= 0; ) {
                  synchronized (gate) {
                    while (frozen) {
                      gate.wait(1_000);
                    }
                  }
                  out.write(buffer, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // either side went away
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                close(from);
                close(to);
              }
            });
  }

  /** The path drops everything from now on, in both directions, without closing anything. */
  public void freeze() {
    frozen = true;
  }

  /** The path carries bytes again, the ones that waited first. */
  public void thaw() {
    synchronized (gate) {
      frozen = false;
      gate.notifyAll();
    }
  }

  private void close(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** The server is gone: every connection closes, and connecting is refused. */
  public void cut() throws IOException {
    server.close();
    open.forEach(this::close);
  }

  /** The server is back on the same port. */
  public void restore() throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
    listen(s);
  }

  @Override
  public void close() throws IOException {
    thaw();
    cut();
  }
}
