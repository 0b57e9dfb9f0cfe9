package io.opsscaffold.daemon.supervision;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The user and group an agent runs as ({@code agents[].user: name} or {@code name:group}), resolved
 * from the host's {@code /etc/passwd} and {@code /etc/group} when the configuration is read;
 * without a group, the user's primary group. Only a daemon running as root can start an agent as
 * another user.
 */
public record RunAs(String user, int uid, int gid) {
  /**
   * Resolves {@code spec}.
   *
   * @throws IllegalArgumentException naming what is not found
   */
  public static RunAs resolve(String spec, Path passwd, Path groups) {
    String name = spec.contains(":") ? spec.substring(0, spec.indexOf(':')) : spec;
    Optional<String> group =
        spec.contains(":") ? Optional.of(spec.substring(spec.indexOf(':') + 1)) : Optional.empty();
    Optional<String[]> account = find(passwd, name);
    if (account.isEmpty() && numeric(name)) {
      // As a container's runAsUser: an id with no account, then its group must be given too (a
      // missing group would leave the agent in group 0).
      if (group.isEmpty() || !numeric(group.get())) {
        throw new IllegalArgumentException(
            "user "
                + name
                + " has no account on this host; give its group as a number too ("
                + name
                + ":<gid>)");
      }
      return new RunAs(spec, Integer.parseInt(name), Integer.parseInt(group.get()));
    }
    if (account.isEmpty()) {
      throw new IllegalArgumentException("no user '" + name + "' on this host");
    }
    int uid = Integer.parseInt(account.get()[2]);
    int gid = Integer.parseInt(account.get()[3]);
    if (group.isPresent() && numeric(group.get()) && find(groups, group.get()).isEmpty()) {
      gid = Integer.parseInt(group.get());
    } else if (group.isPresent()) {
      String[] g =
          find(groups, group.get())
              .orElseThrow(
                  () ->
                      new IllegalArgumentException("no group '" + group.get() + "' on this host"));
      gid = Integer.parseInt(g[2]);
    }
    return new RunAs(spec, uid, gid);
  }

  private static boolean numeric(String s) {
    return !s.isEmpty() && s.length() < 10 && s.chars().allMatch(Character::isDigit);
  }

  /** The entry of {@code table} named {@code name} (or with that numeric id), split on ':'. */
  private static Optional<String[]> find(Path table, String name) {
    List<String> lines;
    try {
      lines = Files.readAllLines(table);
    } catch (IOException e) {
      return Optional.empty();
    }
    for (String line : lines) {
      String[] f = line.split(":", -1);
      if (f.length > 3 && (f[0].equals(name) || f[2].equals(name))) {
        return Optional.of(f);
      }
    }
    return Optional.empty();
  }

  /** The command prefix that drops to this user and group, with the user's supplementary groups. */
  List<String> prefix() {
    return List.of(
        "setpriv",
        "--reuid=" + uid,
        "--regid=" + gid,
        uid == 0 ? "--keep-groups" : "--clear-groups",
        "--");
  }
}
