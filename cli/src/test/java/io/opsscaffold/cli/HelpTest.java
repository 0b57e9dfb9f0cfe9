package io.opsscaffold.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every command's --help shows an example of it; a new command without one fails here. */
class HelpTest {
  private static void leaves(CommandLine c, List<CommandLine> out) {
    if (c.getSubcommands().isEmpty()) {
      out.add(c);
    }
    c.getSubcommands().values().stream().distinct().forEach(s -> leaves(s, out));
  }

  @Test
  void everyCommandsHelpHasAnExample() {
    CommandLine root =
        Opsctl.commandLine(new Opsctl(Map.of(), new PrintWriter(new StringWriter())));
    List<CommandLine> commands = new ArrayList<>();
    leaves(root, commands);
    List<String> without =
        commands.stream()
            .filter(c -> !c.getCommandName().equals("help"))
            .filter(c -> !c.getUsageMessage(CommandLine.Help.Ansi.OFF).contains("  opsctl "))
            .map(c -> c.getCommandSpec().qualifiedName())
            .toList();
    assertEquals(List.of(), without, "commands whose --help shows no example");
  }
}
