package io.opsscaffold.cli;

import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine;

/** How values read in a table: ages, statuses in colour (on a terminal), JSON for scripts. */
final class Render {
  private Render() {}

  /** "3m", "2h", "5d" since {@code t}; "-" when unset. */
  static String age(Timestamp t, long nowMs) {
    if (t == null || (t.getSeconds() == 0 && t.getNanos() == 0)) {
      return "-";
    }
    Duration d = Duration.ofMillis(Math.max(0, nowMs - Timestamps.toMillis(t)));
    if (d.toSeconds() < 120) {
      return d.toSeconds() + "s";
    }
    if (d.toMinutes() < 120) {
      return d.toMinutes() + "m";
    }
    if (d.toHours() < 48) {
      return d.toHours() + "h";
    }
    return d.toDays() + "d";
  }

  /** A status word coloured by what it means, when colour is on. */
  static String status(String word) {
    if (!Opsctl.colour()) {
      return word;
    }
    String style =
        switch (word) {
          case "ON", "ONLINE", "RUNNING", "HEALTHY", "SUCCEEDED", "resolved", "APPLIED" -> "green";
          case "OFF", "OFFLINE", "FAILED", "CRASH_LOOP", "DEAD", "open", "ROLLED_BACK" -> "red";
          case "NO_DATA", "UNCONFIRMED", "PARTIAL", "STARTING", "STOPPING", "RUNNING…" -> "yellow";
          default -> "";
        };
    return style.isEmpty()
        ? word
        : CommandLine.Help.Ansi.AUTO.string("@|" + style + " " + word + "|@");
  }

  /** {@code text} in {@code style} (a picocli style: red, green, bold, …) on a terminal. */
  static String styled(String style, String text) {
    return Opsctl.colour()
        ? CommandLine.Help.Ansi.AUTO.string("@|" + style + " " + text + "|@")
        : text;
  }

  /** The enum constant's name without its type prefix: CONNECTIVITY_ONLINE → ONLINE. */
  static String word(Enum<?> e, String prefix) {
    String n = e.name();
    return n.startsWith(prefix) ? n.substring(prefix.length()) : n;
  }

  /** Messages as one JSON document: an object, or an array of them. */
  static void json(PrintWriter out, List<? extends Message> messages, boolean single) {
    try {
      JsonFormat.Printer p = JsonFormat.printer().preservingProtoFieldNames();
      if (single) {
        out.println(p.print(messages.get(0)));
      } else {
        out.println("[");
        for (int i = 0; i < messages.size(); i++) {
          out.print(p.print(messages.get(i)).indent(2).stripTrailing());
          out.println(i < messages.size() - 1 ? "," : "");
        }
        out.println("]");
      }
      out.flush();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new CliException(CliException.FAILED, "cannot print JSON: " + e.getMessage());
    }
  }
}
