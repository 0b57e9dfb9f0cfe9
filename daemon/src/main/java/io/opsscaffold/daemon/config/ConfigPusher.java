package io.opsscaffold.daemon.config;

import io.opentelemetry.context.Context;
import io.opsscaffold.api.ConfigFileRules;
import io.opsscaffold.daemon.supervision.AgentHttp;
import io.opsscaffold.daemon.supervision.AgentRunner;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.daemon.supervision.ConfigPolicy;
import io.opsscaffold.daemon.supervision.Lifecycle;
import io.opsscaffold.daemon.supervision.Supervisor;
import io.opsscaffold.errors.OpsException;
import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.time.Time;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Applies a pushed configuration to an agent: checks the file names and sizes ({@link
 * ConfigFileRules}), writes each file atomically (temporary file, fsync, rename) into the agent's
 * config directory, makes the agent take it (reload URL or restart, per the agent's {@link
 * ConfigPolicy}), and verifies that the agent stays up on it. When it does not, the previous files
 * are restored (and files the push added removed), the agent is brought back on them, and the
 * result says "rolled back to &lt;hash&gt;".
 *
 * <p>One push per agent at a time; {@link #push} blocks (call it on a virtual thread).
 */
public final class ConfigPusher {
  private static final Logger LOG = Logger.getLogger(ConfigPusher.class.getName());
  private static final String TEMP_MARK = ConfigFileRules.TEMP_MARK;

  /** How long an agent's reload URL may take to answer. */
  private static final Duration RELOAD_TIMEOUT = Duration.ofSeconds(10);

  /** One file of a push. */
  public record File(String name, byte[] content) {}

  /**
   * What happened.
   *
   * @param hash the hash of the agent's config directory now (after a rollback: the restored one)
   * @param failure empty when the files are in place; else what kind of failure (invalid files, no
   *     such agent, an agent that takes no pushes, a push in progress or rolled back, a write
   *     error)
   */
  public record Result(
      Outcome outcome, String hash, String message, Optional<OpsException.Kind> failure) {
    public boolean applied() {
      return failure.isEmpty();
    }
  }

  /** What became of a push. */
  public enum Outcome {
    /** The agent runs on the new files. */
    APPLIED,
    /** The agent already had exactly these files; nothing was done. */
    UNCHANGED,
    /** Refused, or rolled back. */
    FAILED
  }

  private final Supervisor supervisor;
  private final Time time;
  private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

  /**
   * @param time the verify window waits on it
   */
  public ConfigPusher(Supervisor supervisor, Time time) {
    this.supervisor = supervisor;
    this.time = time;
  }

  /** What {@link #read} found: the files, or why not. */
  public record Read(List<File> files, String hash, Optional<OpsException> failure) {}

  /** The most a read returns, all files together. */
  static final long MAX_READ_BYTES = 1024 * 1024;

  /**
   * The regular files of the agent's config directory (links are neither followed nor listed), for
   * an agent that takes pushes; a caller compares them with what it is about to push.
   */
  public Read read(String agentId) {
    Optional<AgentRunner> found = supervisor.runner(agentId);
    if (found.isEmpty()) {
      return new Read(
          List.of(),
          "",
          Optional.of(
              OpsException.notFound("agent '" + agentId + "' is not supervised by this daemon")));
    }
    ConfigPolicy policy = found.get().spec().config();
    if (policy.dir().isEmpty()) {
      return new Read(
          List.of(),
          "",
          Optional.of(
              OpsException.failedPrecondition(
                  "agent '"
                      + agentId
                      + "' does not take config pushes: its daemon.yaml entry needs"
                      + " remote-config: true and a config-dir")));
    }
    Path dir = policy.dir().get();
    List<File> files = new java.util.ArrayList<>();
    long total = 0;
    try {
      if (Files.isDirectory(dir)) {
        try (Stream<Path> s = Files.list(dir)) {
          for (Path p :
              s.filter(q -> Files.isRegularFile(q, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                  .filter(q -> !q.getFileName().toString().contains(TEMP_MARK))
                  .sorted()
                  .toList()) {
            byte[] content = Files.readAllBytes(p);
            total += content.length;
            if (total > MAX_READ_BYTES) {
              return new Read(
                  List.of(),
                  "",
                  Optional.of(
                      OpsException.resourceExhausted(
                          "the agent's config-dir holds more than 1 MiB of files")));
            }
            files.add(new File(p.getFileName().toString(), content));
          }
        }
      }
      return new Read(files, hash(dir), Optional.empty());
    } catch (IOException e) {
      return new Read(
          List.of(),
          "",
          Optional.of(
              OpsException.internal("could not read the configuration: " + e.getMessage())));
    }
  }

  /** Writes {@code files} into the agent's config directory and makes the agent use them. */
  public Result push(String agentId, List<File> files, Context ctx) {
    Optional<AgentRunner> found = supervisor.runner(agentId);
    if (found.isEmpty()) {
      return failed(
          OpsException.Kind.NOT_FOUND,
          "",
          "agent '" + agentId + "' is not supervised by this daemon");
    }
    AgentRunner runner = found.get();
    ConfigPolicy policy = runner.spec().config();
    if (policy.dir().isEmpty()) {
      return failed(
          OpsException.Kind.FAILED_PRECONDITION,
          "",
          "agent '"
              + agentId
              + "' does not take config pushes: its daemon.yaml entry needs remote-config: true"
              + " and a config-dir");
    }
    Optional<String> problem =
        ConfigFileRules.problem(
            "files",
            files.stream()
                .map(f -> new ConfigFileRules.FileRef(f.name(), f.content().length))
                .toList());
    if (problem.isPresent()) {
      return failed(OpsException.Kind.INVALID_ARGUMENT, "", problem.get());
    }
    ReentrantLock lock = locks.computeIfAbsent(agentId, k -> new ReentrantLock());
    if (!lock.tryLock()) {
      return failed(
          OpsException.Kind.CONFLICT,
          "",
          "another config push to agent '" + agentId + "' is in progress");
    }
    try {
      return apply(runner, policy, policy.dir().get(), files, ctx);
    } catch (IOException e) {
      return failed(
          OpsException.Kind.INTERNAL, "", "could not write the configuration: " + e.getMessage());
    } finally {
      lock.unlock();
    }
  }

  private Result apply(
      AgentRunner runner, ConfigPolicy policy, Path dir, List<File> files, Context ctx)
      throws IOException {
    Files.createDirectories(dir);
    for (File f : files) {
      if (Files.isSymbolicLink(dir.resolve(f.name()))) {
        return failed(
            OpsException.Kind.FAILED_PRECONDITION,
            hash(dir),
            "files: '"
                + f.name()
                + "' is a symbolic link in the agent's config-dir; pushes never write or read through links");
      }
    }
    String before = hash(dir);
    Map<String, Optional<byte[]>> previous = new LinkedHashMap<>();
    boolean same = true;
    for (File f : files) {
      Path p = dir.resolve(f.name());
      Optional<byte[]> old =
          Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
              ? Optional.of(Files.readAllBytes(p))
              : Optional.empty();
      previous.put(f.name(), old);
      same &= old.isPresent() && java.util.Arrays.equals(old.get(), f.content());
    }
    if (same) {
      return new Result(
          Outcome.UNCHANGED,
          before,
          "unchanged: the agent already has these files (" + before + ")",
          Optional.empty());
    }
    try {
      for (File f : files) {
        write(dir.resolve(f.name()), f.content(), runner.spec().runAs());
      }
    } catch (IOException e) {
      restore(dir, previous); // never leave part of a push behind
      throw e;
    }
    String after = hash(dir);
    LOG.info(() -> "config of " + runner.spec().id() + " written: " + before + " -> " + after);
    Optional<String> trouble = activate(runner, policy, ctx);
    if (trouble.isEmpty()) {
      return new Result(
          Outcome.APPLIED,
          after,
          "applied " + after + " (was " + before + ", " + describe(policy) + ")",
          Optional.empty());
    }
    LOG.warning(
        () ->
            "config "
                + after
                + " of "
                + runner.spec().id()
                + " failed ("
                + trouble.get()
                + "); rolling back to "
                + before);
    restore(dir, previous);
    String restored = hash(dir);
    Optional<String> back = activate(runner, policy, ctx);
    String message =
        "FAILED: "
            + trouble.get()
            + "; rolled back to "
            + restored
            + back.map(b -> ", but the agent did not come back on it either: " + b).orElse("");
    return new Result(Outcome.FAILED, restored, message, Optional.of(OpsException.Kind.CONFLICT));
  }

  /** Puts back the files a push replaced and removes the ones it added. */
  private static void restore(Path dir, Map<String, Optional<byte[]>> previous) throws IOException {
    for (var e : previous.entrySet()) {
      Path p = dir.resolve(e.getKey());
      if (e.getValue().isPresent()) {
        write(p, e.getValue().get(), Optional.empty());
      } else {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Makes the agent take its files; empty when it did and stayed up for the verify window. */
  private Optional<String> activate(AgentRunner runner, ConfigPolicy policy, Context ctx) {
    if (policy.reload() == ConfigPolicy.Reload.NONE) {
      return Optional.empty();
    }
    AgentSnapshot s = runner.snapshot();
    if (policy.reload() == ConfigPolicy.Reload.HTTP && s.lifecycle() == Lifecycle.RUNNING) {
      Optional<String> refused = postReload(policy);
      if (refused.isPresent()) {
        return refused;
      }
    } else {
      s = runner.restart(ctx).join();
      if (s.lifecycle() != Lifecycle.RUNNING) {
        return Optional.of("the agent did not start on it: " + s.message());
      }
    }
    sleep(policy.verify());
    AgentSnapshot now = runner.snapshot();
    if (now.lifecycle() != Lifecycle.RUNNING || now.pid() != s.pid()) {
      return Optional.of(
          "the agent did not stay up on it ("
              + now.lifecycle().name().toLowerCase(java.util.Locale.ROOT)
              + ": "
              + now.message()
              + ")");
    }
    return Optional.empty();
  }

  private Optional<String> postReload(ConfigPolicy policy) {
    var url = policy.reloadUrl().orElseThrow();
    try {
      AgentHttp.Answer r = AgentHttp.post(url, RELOAD_TIMEOUT);
      if (r.status() / 100 != 2) {
        return Optional.of(
            "the agent's reload (" + url + ") answered " + r.status() + ": " + r.body().strip());
      }
      return Optional.empty();
    } catch (AgentHttp.TimedOut e) {
      return Optional.of(
          "the agent's reload ("
              + url
              + ") did not answer within "
              + RELOAD_TIMEOUT.toSeconds()
              + " s");
    } catch (IOException e) {
      return Optional.of("the agent's reload (" + url + ") failed: " + e.getMessage());
    }
  }

  private static String describe(ConfigPolicy policy) {
    return switch (policy.reload()) {
      case HTTP -> "reloaded through " + policy.reloadUrl().map(Object::toString).orElse("");
      case NONE -> "not reloaded: the agent reads its files itself";
      case RESTART -> "agent restarted";
    };
  }

  /**
   * Replaces {@code target} atomically (a reader sees the old file or the new one, never a part),
   * keeping the mode and owner of the file it replaces; a new file is readable by its owner only,
   * and owned by the agent's user when it runs as one ({@code runAs}). A symbolic link is never
   * written through.
   */
  static void write(
      Path target, byte[] content, Optional<io.opsscaffold.daemon.supervision.RunAs> runAs)
      throws IOException {
    Optional<java.nio.file.attribute.PosixFileAttributes> before =
        Files.isRegularFile(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)
            ? Optional.of(
                Files.readAttributes(
                    target,
                    java.nio.file.attribute.PosixFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS))
            : Optional.empty();
    AtomicFiles.write(target, content, AtomicFiles.modeOf(target).orElse(AtomicFiles.OWNER_ONLY));
    var view =
        Files.getFileAttributeView(
            target,
            java.nio.file.attribute.PosixFileAttributeView.class,
            java.nio.file.LinkOption.NOFOLLOW_LINKS);
    if (before.isPresent()) {
      if (!before.get().owner().equals(Files.getOwner(target))) {
        view.setOwner(before.get().owner());
        view.setGroup(before.get().group());
      }
    } else if (runAs.isPresent()) {
      var lookup = target.getFileSystem().getUserPrincipalLookupService();
      view.setOwner(lookup.lookupPrincipalByName(Integer.toString(runAs.get().uid())));
      view.setGroup(lookup.lookupPrincipalByGroupName(Integer.toString(runAs.get().gid())));
    }
  }

  /**
   * A short hash of the directory's regular files (names and contents), e.g. "sha256:1a2b3c4d5e6f".
   */
  public static String hash(Path dir) throws IOException {
    Map<String, Path> sorted = new TreeMap<>();
    if (Files.isDirectory(dir)) {
      try (Stream<Path> s = Files.list(dir)) {
        s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
            .filter(p -> !p.getFileName().toString().contains(TEMP_MARK))
            .forEach(p -> sorted.put(p.getFileName().toString(), p));
      }
    }
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (var e : sorted.entrySet()) {
        md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
        md.update((byte) 0);
        md.update(Files.readAllBytes(e.getValue()));
        md.update((byte) 0);
      }
      return "sha256:" + HexFormat.of().formatHex(md.digest()).substring(0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Result failed(OpsException.Kind kind, String hash, String message) {
    return new Result(Outcome.FAILED, hash, message, Optional.of(kind));
  }

  private void sleep(Duration d) {
    try {
      time.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
