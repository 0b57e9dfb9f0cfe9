package io.opsscaffold.agent;

import io.opsscaffold.testing.Await;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The packaged agent started as a real process from a config file, and its HTTP API. */
final class AgentProcess implements AutoCloseable {
  private static final Pattern READY = Pattern.compile("ready on port (\\d+)");
  final Path dir;
  final Path config;
  final Path output;
  final Process process;
  private int port;
  private final HttpClient http = HttpClient.newHttpClient();

  private AgentProcess(Path dir, Path config, Process process, Path output) {
    this.dir = dir;
    this.config = config;
    this.process = process;
    this.output = output;
  }

  static Path jar() {
    Path jar = Path.of("target", "agent.jar").toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(jar + " is missing: run with 'mvn verify'");
    }
    return jar;
  }

  /** Starts the agent with {@code yaml} as its config; does not wait for it to be ready. */
  static AgentProcess launch(Path dir, String yaml, String... jvmArgs) {
    try {
      Path config = dir.resolve("agent.yaml");
      Files.writeString(config, yaml);
      Path output = Files.createTempFile(dir, "agent", ".out");
      List<String> cmd = new java.util.ArrayList<>();
      cmd.add(ProcessHandle.current().info().command().orElse("java"));
      cmd.addAll(List.of(jvmArgs));
      cmd.addAll(List.of("-jar", jar().toString(), "--config", config.toString()));
      Process p =
          new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      return new AgentProcess(dir, config, p, output);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts the agent and waits until its HTTP API answers. */
  static AgentProcess start(Path dir, String yaml, String... jvmArgs) {
    AgentProcess a = launch(dir, yaml, jvmArgs);
    a.port =
        Await.until(
            Duration.ofSeconds(20),
            "the agent to be ready",
            () -> {
              Matcher m = READY.matcher(a.output());
              if (!a.process.isAlive() && !m.find()) {
                throw new IllegalStateException(
                    "the agent exited with " + a.process.exitValue() + ": " + a.output());
              }
              return m.find(0) ? Integer.parseInt(m.group(1)) : -1;
            },
            p -> p > 0);
    return a;
  }

  String output() {
    try {
      return Files.readString(output);
    } catch (IOException e) {
      return "";
    }
  }

  long pid() {
    return process.pid();
  }

  HttpResponse<String> get(String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return send(b.GET().build());
  }

  HttpResponse<String> post(String path) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build());
  }

  JsonObject json(HttpResponse<String> res) {
    try (JsonReader r = Json.createReader(new StringReader(res.body()))) {
      return r.readObject();
    }
  }

  private HttpResponse<String> send(HttpRequest r) {
    try {
      return http.send(r, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * SIGTERM; waits up to {@code within} for the exit and returns its code, or -1 if still alive.
   */
  int terminate(Duration within) {
    process.destroy();
    try {
      return process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  @Override
  public void close() {
    ProcessHandle.of(process.pid())
        .ifPresent(h -> h.descendants().forEach(ProcessHandle::destroyForcibly));
    process.destroyForcibly();
  }
}
