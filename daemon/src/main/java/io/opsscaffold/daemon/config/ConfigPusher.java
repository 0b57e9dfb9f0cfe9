package io.opsscaffold.daemon.config;

import io.opsscaffold.time.Time;
import io.grpc.Status;
import io.opsscaffold.api.ConfigFileRules;
import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.supervision.AgentHttp;
import io.opsscaffold.daemon.supervision.AgentRunner;
import io.opsscaffold.daemon.supervision.AgentSnapshot;
import io.opsscaffold.daemon.supervision.ConfigPolicy;
import io.opsscaffold.daemon.supervision.Supervisor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Applies a pushed configuration to an agent: checks the file names and sizes ({@link
 * ConfigFileRules}), writes each file
 * atomically (temporary file, fsync, rename) into the agent's config directory, makes the agent take
 * it (reload URL or restart, per the agent's {@link ConfigPolicy}), and verifies that the agent stays
 * up on it. When it does not, the previous files are restored (and files the push added removed),
 * the agent is brought back on them, and the result says "rolled back to &lt;hash&gt;".
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
   * @param outcome APPLIED, UNCHANGED or FAILED
   * @param hash the hash of the agent's config directory now (after a rollback: the restored one)
   * @param code OK, or the failure's code (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ABORTED)
   */
  public record Result(String outcome, String hash, String message, Status.Code code) {
    public boolean applied() {
      return code == Status.Code.OK;
    }
  }

  private final Supervisor supervisor;
  private final Time time;
  private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();

  /** @param time the verify window waits on it */
  public ConfigPusher(Supervisor supervisor, Time time) {
    this.supervisor = supervisor;
    this.time = time;
  }

  /** Writes {@code files} into the agent's config directory and makes the agent use them. */
  public Result push(String agentId, List<File> files, Context ctx) {
    Optional<AgentRunner> found = supervisor.runner(agentId);
    if (found.isEmpty()) {
      return failed(Status.Code.NOT_FOUND, "", "agent '" + agentId + "' is not supervised by this daemon");
    }
    AgentRunner runner = found.get();
    ConfigPolicy policy = runner.spec().config();
    if (policy.dir().isEmpty()) {
      return failed(Status.Code.FAILED_PRECONDITION, "", "agent '" + agentId
          + "' has no config-dir in the daemon's configuration, so it takes no config pushes");
    }
    Optional<String> problem = ConfigFileRules.problem("files",
        files.stream().map(f -> new ConfigFileRules.FileRef(f.name(), f.content().length)).toList());
    if (problem.isPresent()) {
      return failed(Status.Code.INVALID_ARGUMENT, "", problem.get());
    }
    ReentrantLock lock = locks.computeIfAbsent(agentId, k -> new ReentrantLock());
    if (!lock.tryLock()) {
      return failed(Status.Code.ABORTED, "", "another config push to agent '" + agentId + "' is in progress");
    }
    try {
      return apply(runner, policy, policy.dir().get(), files, ctx);
    } catch (IOException e) {
      return failed(Status.Code.INTERNAL, "", "could not write the configuration: " + e);
    } finally {
      lock.unlock();
    }
  }

  private Result apply(AgentRunner runner, ConfigPolicy policy, Path dir, List<File> files, Context ctx)
      throws IOException {
    Files.createDirectories(dir);
    String before = hash(dir);
    Map<String, Optional<byte[]>> previous = new LinkedHashMap<>();
    boolean same = true;
    for (File f : files) {
      Path p = dir.resolve(f.name());
      Optional<byte[]> old = Files.isRegularFile(p) ? Optional.of(Files.readAllBytes(p)) : Optional.empty();
      previous.put(f.name(), old);
      same &= old.isPresent() && java.util.Arrays.equals(old.get(), f.content());
    }
    if (same) {
      return new Result("UNCHANGED", before, "unchanged: the agent already has these files (" + before + ")",
          Status.Code.OK);
    }
    try {
      for (File f : files) {
        write(dir.resolve(f.name()), f.content());
      }
    } catch (IOException e) {
      restore(dir, previous); // never leave part of a push behind
      throw e;
    }
    String after = hash(dir);
    LOG.info(() -> "config of " + runner.spec().id() + " written: " + before + " -> " + after);
    Optional<String> trouble = activate(runner, policy, ctx);
    if (trouble.isEmpty()) {
      return new Result("APPLIED", after, "applied " + after + " (was " + before + ", "
          + describe(policy) + ")", Status.Code.OK);
    }
    LOG.warning(() -> "config " + after + " of " + runner.spec().id() + " failed (" + trouble.get()
        + "); rolling back to " + before);
    restore(dir, previous);
    String restored = hash(dir);
    Optional<String> back = activate(runner, policy, ctx);
    String message = "FAILED: " + trouble.get() + "; rolled back to " + restored
        + back.map(b -> ", but the agent did not come back on it either: " + b).orElse("");
    return new Result("FAILED", restored, message, Status.Code.ABORTED);
  }

  /** Puts back the files a push replaced and removes the ones it added. */
  private static void restore(Path dir, Map<String, Optional<byte[]>> previous) throws IOException {
    for (var e : previous.entrySet()) {
      Path p = dir.resolve(e.getKey());
      if (e.getValue().isPresent()) {
        write(p, e.getValue().get());
      } else {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Makes the agent take its files; empty when it did and stayed up for the verify window. */
  private Optional<String> activate(AgentRunner runner, ConfigPolicy policy, Context ctx) {
    if (policy.reload().equals("none")) {
      return Optional.empty();
    }
    AgentSnapshot s = runner.snapshot();
    if (policy.reload().equals("http") && s.lifecycle().equals("RUNNING")) {
      Optional<String> refused = postReload(policy);
      if (refused.isPresent()) {
        return refused;
      }
    } else {
      s = runner.restart(ctx).join();
      if (!s.lifecycle().equals("RUNNING")) {
        return Optional.of("the agent did not start on it: " + s.message());
      }
    }
    sleep(policy.verify());
    AgentSnapshot now = runner.snapshot();
    if (!now.lifecycle().equals("RUNNING") || now.pid() != s.pid()) {
      return Optional.of("the agent did not stay up on it (" + now.lifecycle().toLowerCase(java.util.Locale.ROOT)
          + ": " + now.message() + ")");
    }
    return Optional.empty();
  }

  private Optional<String> postReload(ConfigPolicy policy) {
    var url = policy.reloadUrl().orElseThrow();
    try {
      AgentHttp.Answer r = AgentHttp.post(url, RELOAD_TIMEOUT);
      if (r.status() / 100 != 2) {
        return Optional.of("the agent's reload (" + url + ") answered " + r.status() + ": " + r.body().strip());
      }
      return Optional.empty();
    } catch (AgentHttp.TimedOut e) {
      return Optional.of("the agent's reload (" + url + ") did not answer within " + RELOAD_TIMEOUT.toSeconds() + " s");
    } catch (IOException e) {
      return Optional.of("the agent's reload (" + url + ") failed: " + e);
    }
  }

  private static String describe(ConfigPolicy policy) {
    return switch (policy.reload()) {
      case "http" -> "reloaded through " + policy.reloadUrl().map(Object::toString).orElse("");
      case "none" -> "not reloaded: the agent reads its files itself";
      default -> "agent restarted";
    };
  }

  /** Replaces {@code target} atomically: a reader sees the old file or the new one, never a part. */
  static void write(Path target, byte[] content) throws IOException {
    Path tmp = target.resolveSibling("." + target.getFileName() + TEMP_MARK + UUID.randomUUID());
    try {
      try (var ch = java.nio.channels.FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(content));
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** A short hash of the directory's regular files (names and contents), e.g. "sha256:1a2b3c4d5e6f". */
  public static String hash(Path dir) throws IOException {
    Map<String, Path> sorted = new TreeMap<>();
    if (Files.isDirectory(dir)) {
      try (Stream<Path> s = Files.list(dir)) {
        s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().contains(TEMP_MARK))
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

  private static Result failed(Status.Code code, String hash, String message) {
    return new Result("FAILED", hash, message, code);
  }

  private void sleep(Duration d) {
    try {
      time.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
