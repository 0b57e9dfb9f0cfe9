package io.opsscaffold.cli;

import io.opsscaffold.files.AtomicFiles;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The context file, as kubeconfig is: named contexts (a manager's address, a token, the CA to
 * trust) and the current one. It lives in {@code $OPSCTL_CONFIG}, else {@code
 * $XDG_CONFIG_HOME/opsctl/config}, else {@code ~/.config/opsctl/config}, mode 0600 (it holds
 * tokens). Environment variables override a context for scripts: {@code OPSCTL_CONTEXT}, {@code
 * OPSCTL_ADDRESS}, {@code OPSCTL_TOKEN}, {@code OPSCTL_CA}.
 */
final class Contexts {
  /**
   * One manager to talk to, or a platform service ({@code platform}: the view across areas, where
   * the same commands answer for every area).
   */
  record Context(
      String name, String address, String token, Optional<Path> caFile, boolean platform) {
    Context(String name, String address, String token, Optional<Path> caFile) {
      this(name, address, token, caFile, false);
    }
  }

  private final Path file;
  private final Properties props = new Properties();

  private Contexts(Path file) {
    this.file = file;
  }

  static Path defaultFile(Map<String, String> env) {
    String explicit = env.get("OPSCTL_CONFIG");
    if (explicit != null && !explicit.isBlank()) {
      return Path.of(explicit);
    }
    String xdg = env.get("XDG_CONFIG_HOME");
    Path base =
        xdg != null && !xdg.isBlank()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".config");
    return base.resolve("opsctl").resolve("config");
  }

  static Contexts load(Path file) throws IOException {
    Contexts c = new Contexts(file);
    if (Files.exists(file)) {
      c.props.load(new StringReader(Files.readString(file)));
    }
    return c;
  }

  Path file() {
    return file;
  }

  /** Where a context's pinned CA certificate is kept, beside the file. */
  Path caFileFor(String context) {
    return file.toAbsolutePath().getParent().resolve(context + "-ca.crt");
  }

  void put(Context c) {
    String p = "context." + c.name() + ".";
    props.setProperty(p + "address", c.address());
    props.setProperty(p + "token", c.token());
    c.caFile()
        .ifPresentOrElse(
            f -> props.setProperty(p + "ca-file", f.toString()), () -> props.remove(p + "ca-file"));
    if (c.platform()) {
      props.setProperty(p + "kind", "platform");
    } else {
      props.remove(p + "kind");
    }
  }

  void use(String name) {
    props.setProperty("current-context", name);
  }

  Optional<String> current() {
    return Optional.ofNullable(props.getProperty("current-context"));
  }

  Map<String, Context> all() {
    Map<String, Context> out = new TreeMap<>();
    for (String key : props.stringPropertyNames()) {
      if (key.startsWith("context.") && key.endsWith(".address")) {
        String name = key.substring("context.".length(), key.length() - ".address".length());
        out.put(name, get(name).orElseThrow());
      }
    }
    return out;
  }

  Optional<Context> get(String name) {
    String p = "context." + name + ".";
    String address = props.getProperty(p + "address");
    if (address == null) {
      return Optional.empty();
    }
    return Optional.of(
        new Context(
            name,
            address,
            props.getProperty(p + "token", ""),
            Optional.ofNullable(props.getProperty(p + "ca-file")).map(Path::of),
            "platform".equals(props.getProperty(p + "kind"))));
  }

  /**
   * The context to use: {@code --context}, else {@code OPSCTL_CONTEXT}, else the current one, with
   * the environment's overrides; a context made of the environment alone when there is no file.
   *
   * @throws CliException USAGE when there is none, naming what to do
   */
  Context resolve(Optional<String> flag, Map<String, String> env) {
    Optional<String> name =
        flag.or(() -> Optional.ofNullable(env.get("OPSCTL_CONTEXT")).filter(s -> !s.isBlank()))
            .or(this::current);
    Context base =
        name.map(
                n ->
                    get(n)
                        .orElseThrow(
                            () ->
                                new CliException(
                                    CliException.USAGE,
                                    "no context '" + n + "' in " + file + "; see opsctl config")))
            .orElse(new Context("env", "", "", Optional.empty()));
    String address = env.getOrDefault("OPSCTL_ADDRESS", base.address());
    String token = env.getOrDefault("OPSCTL_TOKEN", base.token());
    Optional<Path> ca = Optional.ofNullable(env.get("OPSCTL_CA")).map(Path::of).or(base::caFile);
    if (address.isBlank()) {
      throw new CliException(
          CliException.USAGE,
          "no manager to talk to: run opsctl login <address> --token-file <file> --ca <ca.crt>"
              + " (or set OPSCTL_ADDRESS and OPSCTL_TOKEN)");
    }
    boolean platform =
        env.containsKey("OPSCTL_PLATFORM")
            ? env.get("OPSCTL_PLATFORM").equals("true")
            : base.platform();
    return new Context(base.name(), address, token, ca, platform);
  }

  void save() throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    StringWriter out = new StringWriter();
    Properties sorted =
        new Properties() {
          @Override
          public synchronized java.util.Set<Map.Entry<Object, Object>> entrySet() {
            return java.util.Collections.unmodifiableSet(new java.util.TreeMap<>(props).entrySet());
          }
        };
    sorted.putAll(props);
    sorted.store(out, "opsctl contexts (holds tokens: keep it 0600)");
    AtomicFiles.write(
        file,
        out.toString().getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-------"));
  }
}
