package io.opsscaffold.api;

import io.opsscaffold.api.link.v1.AgentOperation;
import io.opsscaffold.errors.OpsException;
import java.util.List;
import java.util.Locale;

/**
 * The operations an agent accepts, by the names the APIs use ({@code start}, {@code stop}, {@code
 * restart}) and as the link's {@link AgentOperation}: the one place a name is read, for the
 * manager's API and the daemon's local API alike.
 */
public final class AgentOperations {
  /** The valid names, in the order error messages list them. */
  public static final List<String> NAMES = List.of("start", "stop", "restart");

  private AgentOperations() {}

  /**
   * The operation named {@code name}.
   *
   * @throws OpsException INVALID_ARGUMENT naming the valid operations
   */
  public static AgentOperation parse(String name) {
    return switch (name) {
      case "start" -> AgentOperation.AGENT_OPERATION_START;
      case "stop" -> AgentOperation.AGENT_OPERATION_STOP;
      case "restart" -> AgentOperation.AGENT_OPERATION_RESTART;
      default ->
          throw OpsException.invalidArgument(
              "operation '"
                  + name
                  + "' is not valid; valid operations: "
                  + String.join(", ", NAMES));
    };
  }

  /** The API name of {@code op} ({@code start}, ...). */
  public static String name(AgentOperation op) {
    return switch (op) {
      case AGENT_OPERATION_START, AGENT_OPERATION_STOP, AGENT_OPERATION_RESTART ->
          op.name().substring("AGENT_OPERATION_".length()).toLowerCase(Locale.ROOT);
      default ->
          throw OpsException.invalidArgument(
              "operation " + op + " is not valid; valid operations: " + String.join(", ", NAMES));
    };
  }
}
