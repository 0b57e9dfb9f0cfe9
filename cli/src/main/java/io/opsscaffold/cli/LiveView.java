package io.opsscaffold.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.jline.utils.Display;

/**
 * A screen redrawn in place on a terminal, for watches: JLine's {@link Display} works out what
 * changed since the last frame and rewrites only that. Used only when opsctl's output is a
 * terminal; piped watches print one line per change instead.
 */
final class LiveView implements AutoCloseable {
  private final Terminal terminal;
  private final Display display;

  private LiveView(Terminal terminal) {
    this.terminal = terminal;
    this.display = new Display(terminal, false);
  }

  /** A view on this process's terminal, or empty when the output is not one. */
  static Optional<LiveView> open() {
    if (!Opsctl.colour()) {
      return Optional.empty();
    }
    try {
      Terminal terminal = TerminalBuilder.builder().system(true).build();
      if (Terminal.TYPE_DUMB.equals(terminal.getType())
          || Terminal.TYPE_DUMB_COLOR.equals(terminal.getType())) {
        terminal.close();
        return Optional.empty();
      }
      return Optional.of(new LiveView(terminal));
    } catch (java.io.IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Shows {@code lines} (ANSI colours kept), then {@code status} on the last line; what does not
   * fit the terminal's height is cut, with a note of how many lines are not shown.
   */
  void show(List<String> lines, String status) {
    Size size = terminal.getSize();
    int rows = Math.max(3, size.getRows() > 0 ? size.getRows() : 24);
    int columns = size.getColumns() > 0 ? size.getColumns() : 80;
    display.resize(rows, columns);
    List<String> frame = new ArrayList<>(lines);
    if (frame.size() > rows - 1) {
      int hidden = frame.size() - (rows - 2);
      frame = new ArrayList<>(frame.subList(0, rows - 2));
      frame.add("… " + hidden + " more (a taller terminal, or a narrower filter, shows them)");
    }
    frame.add(status);
    display.updateAnsi(frame, -1);
    terminal.flush();
  }

  @Override
  public void close() {
    try {
      terminal.writer().println();
      terminal.flush();
      terminal.close();
    } catch (java.io.IOException e) {
      // the terminal went away first
    }
  }
}
