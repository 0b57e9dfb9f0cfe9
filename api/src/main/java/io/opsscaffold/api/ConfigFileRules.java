package io.opsscaffold.api;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The limits on pushed configuration files (link.v1.PushConfig, fleet.v1.ConfigFile), checked by
 * the manager before it sends a push and again by the daemon before it writes one.
 */
public final class ConfigFileRules {
  /** Largest file a push may carry. */
  public static final int MAX_FILE_BYTES = 1 << 20;

  /** Largest push (all files of one agent together). */
  public static final int MAX_PUSH_BYTES = 4 << 20;

  /** Most files in one push. */
  public static final int MAX_FILES = 64;

  /** Part of the names the daemon gives its temporary files; never a pushed name. */
  public static final String TEMP_MARK = io.opsscaffold.files.AtomicFiles.TEMP_MARK;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private ConfigFileRules() {}

  /** One file: its name and its size in bytes. */
  public record FileRef(String name, int bytes) {}

  /** Why {@code name} cannot be a pushed file's name, or empty when it can. */
  public static Optional<String> invalidName(String name) {
    if (name.isEmpty()) {
      return Optional.of("is required");
    }
    if (!NAME.matcher(name).matches() || name.contains("..") || name.contains(TEMP_MARK)) {
      return Optional.of(
          "'"
              + name
              + "' must be a plain file name of 1 to 128 characters of"
              + " [A-Za-z0-9._-]: no path separators, no '..', not absolute");
    }
    return Optional.empty();
  }

  /**
   * The first problem with one agent's files, naming the file by {@code field} (e.g.
   * "pushes[0].files" gives "pushes[0].files[2].fileName ..."), or empty when they are fine.
   */
  public static Optional<String> problem(String field, List<FileRef> files) {
    return problem(field, "fileName", files);
  }

  /** As {@link #problem(String, List)}, naming the file name field {@code nameField}. */
  public static Optional<String> problem(String field, String nameField, List<FileRef> files) {
    if (files.isEmpty()) {
      return Optional.of(field + " needs at least one file");
    }
    if (files.size() > MAX_FILES) {
      return Optional.of(
          field + " may hold at most " + MAX_FILES + " files (got " + files.size() + ")");
    }
    Set<String> names = new HashSet<>();
    long total = 0;
    for (int i = 0; i < files.size(); i++) {
      FileRef f = files.get(i);
      Optional<String> bad = invalidName(f.name());
      if (bad.isPresent()) {
        return Optional.of(field + "[" + i + "]." + nameField + " " + bad.get());
      }
      if (!names.add(f.name())) {
        return Optional.of(
            field + "[" + i + "]." + nameField + " '" + f.name() + "' appears twice");
      }
      if (f.bytes() > MAX_FILE_BYTES) {
        return Optional.of(
            field
                + "["
                + i
                + "].content of '"
                + f.name()
                + "' is "
                + f.bytes()
                + " bytes; the limit is "
                + MAX_FILE_BYTES);
      }
      total += f.bytes();
    }
    if (total > MAX_PUSH_BYTES) {
      return Optional.of(field + " add up to " + total + " bytes; the limit is " + MAX_PUSH_BYTES);
    }
    return Optional.empty();
  }
}
