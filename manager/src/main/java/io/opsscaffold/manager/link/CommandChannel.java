package io.opsscaffold.manager.link;

import io.opsscaffold.api.link.v1.ManagerMessage;

/**
 * What a command needs of a daemon's stream: the node it leads to, and a way to send down it. A
 * {@link LinkSession} in the manager; a fake in tests of the code that routes commands.
 */
public interface CommandChannel {
  /** The node at the other end. */
  String nodeId();

  /**
   * Sends {@code message} with the current trace context; never blocks.
   *
   * @return false when the stream has already ended (nothing was sent)
   */
  boolean sendTraced(ManagerMessage.Builder message);
}
