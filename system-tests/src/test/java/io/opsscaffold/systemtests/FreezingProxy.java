package io.opsscaffold.systemtests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on loopback that can cut the path like a network partition: while partitioned,
 * nothing crosses in either direction (connections stay open, bytes wait, new connections are
 * accepted and go nowhere), as when a link drops packets rather than refusing them. Healing lets
 * the waiting bytes through.
 */
final class FreezingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile boolean partitioned;
  private volatile boolean open = true;

  FreezingProxy(int targetPort) throws IOException {
    this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofPlatform().daemon().name("proxy-accept").start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  void partition() {
    partitioned = true;
  }

  void heal() {
    synchronized (gate) {
      partitioned = false;
      gate.notifyAll();
    }
  }

  private void accept() {
    while (open) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket();
        upstream.setTcpNoDelay(true);
        client.setTcpNoDelay(true);
        upstream.connect(target, 5_000);
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream);
        pump(upstream, client);
      } catch (IOException e) {
        // closed, or the target is down: the client sees its connection end
      }
    }
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
                    while (partitioned && open) {
                      gate.wait(1_000);
                    }
                  }
                  out.write(buffer, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // one side went away
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                close(from);
                close(to);
              }
            });
  }

  private static void close(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() {
    open = false;
    heal();
    close(server);
    sockets.forEach(FreezingProxy::close);
  }

  private static void close(ServerSocket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }
}
