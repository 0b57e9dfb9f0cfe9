package io.opsscaffold.daemon.link;

import io.grpc.Channel;
import java.io.IOException;

/**
 * Where the link's channel to the manager comes from. {@link #channel} is called by the link loop
 * before each connect attempt; a failure (the manager's CA cannot be fetched yet, or is not the
 * pinned one) counts as a failed attempt and is retried with the backoff.
 */
public interface ChannelSource extends AutoCloseable {
  /**
   * The channel, built on first success and reused.
   *
   * @throws IOException when what it needs cannot be had now (retry later)
   * @throws SecurityException when the manager is not the one this daemon trusts
   */
  Channel channel() throws IOException;

  /**
   * The attempt on the current channel failed, or its stream ended: the next {@link #channel} may
   * be to another of the area's managers. Called by the link loop.
   */
  default void failed() {}

  /** The manager the current (or next) channel goes to, for logs. */
  default String target() {
    return "the manager";
  }

  /**
   * A certificate request (PEM) to send over the stream when the node's certificate is due for
   * renewal; empty when it is not (or there is none). Called by the link loop.
   */
  default java.util.Optional<String> renewalRequest() {
    return java.util.Optional.empty();
  }

  /** The manager's answer to a renewal request (a certificate, or why not). */
  default void renewed(String certificatePem, String error) {}

  @Override
  void close();
}
