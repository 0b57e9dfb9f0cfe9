package io.opsscaffold.transcoding;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code google.api.http} path template: literal segments, {@code {field}} (one segment), {@code
 * {field=*}} and {@code {field=**}} (the rest of the path). Field names may be dotted paths into
 * nested messages. Immutable and thread-safe.
 */
public final class PathTemplate {
  private sealed interface Segment permits Literal, Variable {}

  private record Literal(String text) implements Segment {}

  private record Variable(String field, boolean rest) implements Segment {}

  private final String text;
  private final List<Segment> segments;

  private PathTemplate(String text, List<Segment> segments) {
    this.text = text;
    this.segments = segments;
  }

  /**
   * Parses a template; throws IllegalArgumentException naming the template when it is malformed.
   */
  public static PathTemplate parse(String template) {
    if (!template.startsWith("/")) {
      throw new IllegalArgumentException("path template must start with '/': " + template);
    }
    String path = template;
    int verb = path.lastIndexOf(':');
    if (verb > path.lastIndexOf('/') && verb > path.lastIndexOf('}')) {
      throw new IllegalArgumentException("custom verbs are not supported: " + template);
    }
    List<Segment> segments = new ArrayList<>();
    for (String part : split(path)) {
      if (part.startsWith("{") && part.endsWith("}")) {
        String inner = part.substring(1, part.length() - 1);
        int eq = inner.indexOf('=');
        String field = eq < 0 ? inner : inner.substring(0, eq);
        String pattern = eq < 0 ? "*" : inner.substring(eq + 1);
        if (!pattern.equals("*") && !pattern.equals("**")) {
          throw new IllegalArgumentException(
              "only {field}, {field=*} and {field=**} are supported: " + template);
        }
        segments.add(new Variable(field, pattern.equals("**")));
      } else if (part.contains("{") || part.contains("}")) {
        throw new IllegalArgumentException(
            "only {field}, {field=*} and {field=**} are supported: " + template);
      } else {
        segments.add(new Literal(part));
      }
    }
    for (int i = 0; i < segments.size() - 1; i++) {
      if (segments.get(i) instanceof Variable v && v.rest()) {
        throw new IllegalArgumentException("'**' must be the last segment: " + template);
      }
    }
    return new PathTemplate(template, List.copyOf(segments));
  }

  /** The variables bound by {@code path}, or empty when the path does not match. */
  public Optional<Map<String, String>> match(String path) {
    List<String> parts = split(path);
    Map<String, String> vars = new LinkedHashMap<>();
    int i = 0;
    for (Segment segment : segments) {
      if (segment instanceof Variable v && v.rest()) {
        if (i >= parts.size()) {
          return Optional.empty();
        }
        vars.put(v.field(), String.join("/", parts.subList(i, parts.size())));
        return Optional.of(vars);
      }
      if (i >= parts.size()) {
        return Optional.empty();
      }
      String part = parts.get(i++);
      switch (segment) {
        case Literal l -> {
          if (!l.text().equals(part)) {
            return Optional.empty();
          }
        }
        case Variable v -> {
          if (part.isEmpty()) {
            return Optional.empty();
          }
          vars.put(v.field(), part);
        }
      }
    }
    return i == parts.size() ? Optional.of(vars) : Optional.empty();
  }

  /** Literal segments count: more literals make a more specific template, tried first. */
  public int literalCount() {
    return (int) segments.stream().filter(s -> s instanceof Literal).count();
  }

  /** The number of segments. */
  public int length() {
    return segments.size();
  }

  @Override
  public String toString() {
    return text;
  }

  private static List<String> split(String path) {
    List<String> parts = new ArrayList<>();
    String trimmed = path.startsWith("/") ? path.substring(1) : path;
    int start = 0;
    for (int i = 0; i <= trimmed.length(); i++) {
      if (i == trimmed.length() || trimmed.charAt(i) == '/') {
        parts.add(
            java.net.URLDecoder.decode(
                trimmed.substring(start, i).replace("+", "%2B"),
                java.nio.charset.StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    return parts;
  }
}
