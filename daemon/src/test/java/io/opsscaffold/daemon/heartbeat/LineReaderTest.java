package io.opsscaffold.daemon.heartbeat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineReaderTest {
  /** Hands out at most {@code step} bytes per read, as a socket may. */
  private static InputStream trickle(byte[] data, int step) {
    return new ByteArrayInputStream(data) {
      @Override
      public synchronized int read(byte[] b, int off, int len) {
        return super.read(b, off, Math.min(len, step));
      }
    };
  }

  private static List<String> all(LineReader reader) throws IOException {
    List<String> lines = new ArrayList<>();
    for (String line; (line = reader.next()) != null; ) {
      lines.add(line);
    }
    return lines;
  }

  @Test
  void linesComeWholeHoweverTheBytesArrive() throws IOException {
    String text = "{\"a\":1}\n\nzé€😀 line\nlast without newline";
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    List<String> expected = List.of("{\"a\":1}", "", "zé€😀 line", "last without newline");
    for (int step : new int[] {1, 2, 3, 7, 8192}) {
      assertEquals(expected, all(new LineReader(trickle(bytes, step), 100)), "step " + step);
    }
    String longLines = ("x".repeat(9000) + "\n").repeat(3);
    assertEquals(
        List.of("x".repeat(9000), "x".repeat(9000), "x".repeat(9000)),
        all(new LineReader(trickle(longLines.getBytes(StandardCharsets.UTF_8), 5000), 10_000)));
  }

  @Test
  void aLineOverTheLimitIsRefusedAfterItsEndIsRead() throws IOException {
    byte[] bytes =
        ("ok\n" + "y".repeat(101) + "\n" + "z".repeat(100) + "\nafter\n")
            .getBytes(StandardCharsets.UTF_8);
    for (int step : new int[] {1, 13, 8192}) {
      LineReader reader = new LineReader(trickle(bytes, step), 100);
      assertEquals("ok", reader.next());
      LineReader.LineTooLong e = assertThrows(LineReader.LineTooLong.class, reader::next);
      assertEquals("request larger than 100 bytes", e.getMessage());
      assertEquals(
          "z".repeat(100),
          reader.next(),
          "exactly the limit is fine, and the reader is past the long line");
      assertEquals("after", reader.next());
      assertNull(reader.next());
    }
    assertThrows(
        LineReader.LineTooLong.class,
        () ->
            new LineReader(
                    new ByteArrayInputStream("w".repeat(101).getBytes(StandardCharsets.UTF_8)), 100)
                .next(),
        "an over-long last line without a newline");
  }

  @Test
  void anEndlessLineIsGivenUpOnAfterTheDiscardLimit() {
    long[] served = {0};
    InputStream endless =
        new InputStream() {
          @Override
          public int read() {
            served[0]++;
            return 'q';
          }

          @Override
          public int read(byte[] b, int off, int len) {
            java.util.Arrays.fill(b, off, off + len, (byte) 'q');
            served[0] += len;
            return len;
          }
        };
    assertThrows(LineReader.LineTooLong.class, () -> new LineReader(endless, 100).next());
    assertEquals(
        LineReader.MAX_DISCARD, served[0], 8192, "it reads about the discard limit, then stops");
  }
}
