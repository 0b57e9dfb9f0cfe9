package io.opsscaffold.manager.identity;

import java.util.Locale;
import java.util.Optional;

/** What an API token may do; each role may do everything the ones before it may. */
public enum Role {
  /** Reads everything, watches, reads logs and metrics. */
  VIEWER,
  /** And starts, stops, restarts, runs batches, pushes configuration. */
  OPERATOR,
  /** And manages tokens, enrollment tokens and nodes' identities. */
  ADMIN;

  public boolean allows(Role needed) {
    return compareTo(needed) >= 0;
  }

  public String text() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Optional<Role> parse(String text) {
    for (Role r : values()) {
      if (r.text().equals(text)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }
}
