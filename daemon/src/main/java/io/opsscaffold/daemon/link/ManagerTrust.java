package io.opsscaffold.daemon.link;

import java.nio.file.Path;

/** How the daemon knows it talks to its own manager. */
public sealed interface ManagerTrust {
  /** The manager's CA certificate, from a file given by the administrator. */
  record CaFile(Path file) implements ManagerTrust {}

  /**
   * The manager's CA, pinned by its SHA-256 fingerprint: fetched on first contact, checked, and
   * kept in {@code store} (then used like a CA file, still checked against the fingerprint).
   */
  record Pinned(String fingerprint, Path store) implements ManagerTrust {}

  /** No TLS: only for a manager on a loopback address. */
  record Insecure() implements ManagerTrust {}
}
