package io.opsscaffold.daemon.heartbeat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads newline-terminated UTF-8 lines from a stream through its own buffer, scanning for the
 * newline a buffer at a time (a byte-at-a-time read through BufferedInputStream took a lock per
 * byte and cost as much as parsing the heartbeat). Not thread-safe: one per connection.
 */
final class LineReader {
  /** How much of an over-long line is read (and dropped) before giving up on finding its end. */
  static final long MAX_DISCARD = 16L * 1024 * 1024;

  /** A line longer than the limit; the reader has read past it (or up to {@link #MAX_DISCARD}). */
  static final class LineTooLong extends IOException {
    private static final long serialVersionUID = 1L;

    LineTooLong(int limit) {
      super("request larger than " + limit + " bytes", null);
    }
  }

  private final InputStream in;
  private final int maxLine;
  private final byte[] buffer = new byte[8192];
  private int pos;
  private int limit;
  private byte[] line = new byte[512];

  LineReader(InputStream in, int maxLine) {
    this.in = in;
    this.maxLine = maxLine;
  }

  /**
   * The next line without its newline (a last line without one counts), or null at the end of the
   * stream. @throws LineTooLong when the line is longer than the limit
   */
  String next() throws IOException {
    int length = 0;
    long dropped = 0;
    while (true) {
      if (pos == limit) {
        int n = in.read(buffer, 0, buffer.length);
        if (n < 0) {
          if (dropped > 0) {
            throw new LineTooLong(maxLine);
          }
          return length == 0 ? null : new String(line, 0, length, StandardCharsets.UTF_8);
        }
        pos = 0;
        limit = n;
      }
      int newline = -1;
      for (int i = pos; i < limit; i++) {
        if (buffer[i] == '\n') {
          newline = i;
          break;
        }
      }
      int end = newline < 0 ? limit : newline;
      int chunk = end - pos;
      if (dropped == 0 && length + chunk <= maxLine) {
        if (length + chunk > line.length) {
          line = Arrays.copyOf(line, Math.min(maxLine, Math.max(line.length * 2, length + chunk)));
        }
        System.arraycopy(buffer, pos, line, length, chunk);
        length += chunk;
      } else {
        dropped += length + chunk;
        length = 0;
      }
      pos = newline < 0 ? limit : newline + 1;
      if (newline >= 0 || dropped > MAX_DISCARD) {
        if (dropped > 0) {
          throw new LineTooLong(maxLine);
        }
        return new String(line, 0, length, StandardCharsets.UTF_8);
      }
    }
  }
}
