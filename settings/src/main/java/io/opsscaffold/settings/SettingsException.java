package io.opsscaffold.settings;

import java.util.List;

/** The configuration is wrong; {@link #problems()} names each key and what is wrong with it. */
public final class SettingsException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final List<String> problems;

  public SettingsException(String source, List<String> problems) {
    super("invalid configuration in " + source + ":\n  - " + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
