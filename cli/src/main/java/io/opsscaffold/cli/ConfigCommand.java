package io.opsscaffold.cli;

import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code opsctl config get-contexts|use-context}. */
@Command(
    name = "config",
    mixinStandardHelpOptions = true,
    description = "Show and switch contexts.",
    subcommands = {ConfigCommand.GetContexts.class, ConfigCommand.UseContext.class})
final class ConfigCommand {
  @ParentCommand Opsctl root;

  @Command(name = "get-contexts", mixinStandardHelpOptions = true, description = "List contexts.")
  static final class GetContexts implements Callable<Integer> {
    @ParentCommand ConfigCommand config;

    @Override
    public Integer call() {
      Contexts contexts = config.root.contexts();
      String current = contexts.current().orElse("");
      Table t = new Table("CURRENT", "NAME", "ADDRESS", "CA");
      contexts
          .all()
          .values()
          .forEach(
              c ->
                  t.row(
                      c.name().equals(current) ? "*" : "",
                      c.name(),
                      c.address(),
                      c.caFile().map(Object::toString).orElse("(plaintext)")));
      t.print(config.root.out());
      return 0;
    }
  }

  @Command(name = "use-context", mixinStandardHelpOptions = true, description = "Switch context.")
  static final class UseContext implements Callable<Integer> {
    @ParentCommand ConfigCommand config;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    @Override
    public Integer call() throws IOException {
      Contexts contexts = config.root.contexts();
      if (contexts.get(name).isEmpty()) {
        throw new CliException(
            CliException.NOT_FOUND, "no context '" + name + "' (see opsctl config get-contexts)");
      }
      contexts.use(name);
      contexts.save();
      config.root.out().println("using context '" + name + "'");
      return 0;
    }
  }
}
