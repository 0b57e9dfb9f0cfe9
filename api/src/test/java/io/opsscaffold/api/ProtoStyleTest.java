package io.opsscaffold.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The proto conventions, checked on every build: every service, RPC, message, enum, field and enum
 * value has a comment; enum values carry the enum's name as prefix; the first value is {@code
 * <PREFIX>_UNSPECIFIED = 0}; packages are versioned.
 */
class ProtoStyleTest {
  private static final Path PROTOS = Path.of("src/main/proto");
  private static final Pattern DECLARATION =
      Pattern.compile(
          "^\\s*(service|rpc|message|enum)\\s+(\\w+).*|^\\s*(?:repeated |optional |map<[^>]+> )?[\\w.]+\\s+\\w+\\s*=\\s*\\d+.*;.*|^\\s*[A-Z][A-Z0-9_]*\\s*=\\s*-?\\d+.*;.*");
  private static final Pattern ENUM = Pattern.compile("^\\s*enum\\s+(\\w+)\\s*\\{");
  private static final Pattern ENUM_VALUE =
      Pattern.compile("^\\s*([A-Z][A-Z0-9_]*)\\s*=\\s*(-?\\d+)");

  @Test
  void everyDeclarationIsCommentedAndEnumsFollowTheConventions() throws IOException {
    List<String> problems = new ArrayList<>();
    try (Stream<Path> files = Files.walk(PROTOS)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".proto")).toList()) {
        check(file, Files.readAllLines(file), problems);
      }
    }
    assertTrue(problems.isEmpty(), "proto style problems:\n" + String.join("\n", problems));
  }

  private static void check(Path file, List<String> lines, List<String> problems) {
    String enumPrefix = null;
    boolean firstValue = false;
    boolean versioned = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      String where = PROTOS.relativize(file) + ":" + (i + 1);
      if (line.startsWith("package ")) {
        versioned = line.matches("package [a-z0-9_.]+\\.v\\d+;");
      }
      Matcher e = ENUM.matcher(line);
      if (e.find()) {
        enumPrefix = e.group(1).replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase() + "_";
        firstValue = true;
      } else if (enumPrefix != null && line.trim().equals("}")) {
        enumPrefix = null;
      }
      Matcher v = ENUM_VALUE.matcher(line);
      if (enumPrefix != null && v.find()) {
        if (!v.group(1).startsWith(enumPrefix)) {
          problems.add(where + ": enum value " + v.group(1) + " must start with " + enumPrefix);
        }
        if (firstValue
            && !(v.group(1).equals(enumPrefix + "UNSPECIFIED") && v.group(2).equals("0"))) {
          problems.add(where + ": the first value must be " + enumPrefix + "UNSPECIFIED = 0");
        }
        firstValue = false;
      }
      if (DECLARATION.matcher(line).matches() && !line.contains("//") && !commentAbove(lines, i)) {
        problems.add(where + ": no comment: " + line.trim());
      }
    }
    if (!versioned) {
      problems.add(PROTOS.relativize(file) + ": the package must end in a version, e.g. .v1");
    }
  }

  private static boolean commentAbove(List<String> lines, int i) {
    for (int j = i - 1; j >= 0; j--) {
      String above = lines.get(j).trim();
      if (above.startsWith("//")) {
        return true;
      }
      if (!above.startsWith("option") && !above.isEmpty() || above.isEmpty()) {
        return false;
      }
    }
    return false;
  }
}
