package io.opsscaffold.agent.heartbeat;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * {@code POST <daemon_url>/heartbeat} with the heartbeat as JSON; 200 means accepted.
 *
 * <p>A deliberately small HTTP/1.1 client on one kept-alive socket: the JDK's HttpClient loads its
 * TLS and HTTP/2 machinery (several hundred classes, megabytes of memory) even for plain HTTP on
 * loopback, and the agent's footprint matters more than features it does not use. Any failure
 * closes the socket; the next heartbeat opens a new one.
 */
public final class HttpHeartbeatTransport implements HeartbeatTransport {
  private static final int MAX_RESPONSE = 64 * 1024;
  private final URI endpoint;
  private final String host;
  private final int port;
  private Socket socket;
  private InputStream in;
  private OutputStream out;

  public HttpHeartbeatTransport(URI daemonUrl) {
    this.endpoint = daemonUrl.resolve("/heartbeat");
    this.host = daemonUrl.getHost();
    this.port = daemonUrl.getPort() < 0 ? 80 : daemonUrl.getPort();
  }

  @Override
  public void send(String json, Duration timeout) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    String head =
        "POST "
            + endpoint.getRawPath()
            + " HTTP/1.1\r\n"
            + "Host: "
            + host
            + ":"
            + port
            + "\r\n"
            + "Content-Type: application/json\r\n"
            + "Content-Length: "
            + body.length
            + "\r\n"
            + "Connection: keep-alive\r\n\r\n";
    try {
      boolean reused = socket != null;
      try {
        exchange(head, body, timeout);
      } catch (IOException e) {
        if (!reused) {
          throw e;
        }
        close(); // the kept-alive socket was closed by the daemon meanwhile: one fresh try
        exchange(head, body, timeout);
      }
    } catch (IOException e) {
      close();
      throw e;
    }
  }

  private void exchange(String head, byte[] body, Duration timeout) throws IOException {
    if (socket == null) {
      Socket s = new Socket();
      s.setTcpNoDelay(true);
      s.connect(new InetSocketAddress(host, port), (int) Math.min(timeout.toMillis(), 2_000));
      socket = s;
      in = new BufferedInputStream(s.getInputStream());
      out = s.getOutputStream();
    }
    socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
    String status = readLine();
    if (status == null) {
      throw new IOException("the daemon closed the connection");
    }
    String[] parts = status.split(" ", 3);
    if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP response: " + status);
    }
    int code = Integer.parseInt(parts[1]);
    long length = -1;
    boolean chunked = false;
    boolean closeAfter = false;
    String line;
    while ((line = readLine()) != null && !line.isEmpty()) {
      String lower = line.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(lower.substring(15).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        closeAfter = true;
      }
    }
    String responseBody = chunked ? readChunked() : readFixed(length);
    if (closeAfter) {
      close();
    }
    if (code != 200) {
      throw new IOException("daemon answered " + code + ": " + responseBody);
    }
  }

  private String readFixed(long length) throws IOException {
    if (length < 0 || length > MAX_RESPONSE) {
      close();
      return "";
    }
    byte[] buf = in.readNBytes((int) length);
    return new String(buf, StandardCharsets.UTF_8);
  }

  private String readChunked() throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      String size = readLine();
      if (size == null) {
        throw new IOException("truncated chunked response");
      }
      int n = Integer.parseInt(size.split(";")[0].trim(), 16);
      if (n == 0) {
        readLine();
        return body.toString(StandardCharsets.UTF_8);
      }
      if (body.size() + n > MAX_RESPONSE) {
        throw new IOException("response too large");
      }
      body.write(in.readNBytes(n));
      readLine();
    }
  }

  private String readLine() throws IOException {
    StringBuilder line = new StringBuilder(64);
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        int len = line.length();
        return len > 0 && line.charAt(len - 1) == '\r'
            ? line.substring(0, len - 1)
            : line.toString();
      }
      if (line.length() > 8192) {
        throw new IOException("response header line too long");
      }
      line.append((char) b);
    }
    return line.length() == 0 ? null : line.toString();
  }

  @Override
  public String describe() {
    return endpoint.toString();
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    socket = null;
    in = null;
    out = null;
  }
}
