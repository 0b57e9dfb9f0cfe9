package io.opsscaffold.cli;

/** {@code node/agent} as commands take it. */
record Target(String nodeId, String agentId) {
  static Target parse(String text) {
    int slash = text.indexOf('/');
    if (slash <= 0 || slash == text.length() - 1 || text.indexOf('/', slash + 1) >= 0) {
      throw new CliException(
          CliException.USAGE, "'" + text + "' is not node/agent (e.g. dev-node/agent-1)");
    }
    return new Target(text.substring(0, slash), text.substring(slash + 1));
  }

  @Override
  public String toString() {
    return nodeId + "/" + agentId;
  }
}
