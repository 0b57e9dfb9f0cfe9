package io.opsscaffold.cli;

import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.ListNodesRequest;
import io.opsscaffold.files.AtomicFiles;
import io.opsscaffold.security.Fingerprints;
import io.opsscaffold.security.Pem;
import io.opsscaffold.security.PinnedCa;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code opsctl login}: checks a manager, a token and a CA, and saves them as a context. */
@Command(
    name = "login",
    mixinStandardHelpOptions = true,
    description = "Save a context: the manager's address, your token and its CA, checked first.",
    footer = {
      "",
      "Examples:",
      "  opsctl login 127.0.0.1:8080 --token-file target/dev/admin.token --ca target/dev/ca.crt",
      "  opsctl login manager.example:8080 --token-file ~/ops.token --ca-fingerprint sha256:1f2e…",
      "  opsctl login 127.0.0.1:8080 --insecure   # a manager in its loopback-only insecure mode"
    })
final class LoginCommand implements Callable<Integer> {
  @ParentCommand Opsctl root;

  @Parameters(index = "0", paramLabel = "ADDRESS", description = "The manager, host:port.")
  String address;

  @ArgGroup(exclusive = true, multiplicity = "0..1")
  Token token;

  static final class Token {
    @Option(
        names = "--token",
        description = "The API token (prefer --token-file: shells keep history).")
    String value;

    @Option(names = "--token-file", description = "A file holding the API token.")
    Path file;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Trust trust;

  static final class Trust {
    @Option(names = "--ca", description = "The manager's CA certificate (its tls.dir/ca.crt).")
    Path caFile;

    @Option(
        names = "--ca-fingerprint",
        description =
            "Or the CA's SHA-256 fingerprint, as the manager prints it: the CA is fetched"
                + " and checked against it once, then kept beside the context file.")
    String fingerprint;

    @Option(names = "--insecure", description = "Plaintext, to a manager on this machine only.")
    boolean insecure;
  }

  @Option(
      names = "--platform",
      description =
          "ADDRESS is a platform service (the view across areas): the same commands then answer"
              + " for every area, with an AREA column.")
  boolean platform;

  @Option(names = "--name", description = "The context's name (default: the address).")
  Optional<String> name = Optional.empty();

  @Override
  public Integer call() throws IOException {
    Contexts contexts = root.contexts();
    String ctxName = name.orElse(address.replace(':', '-'));
    String secret = "";
    if (token != null) {
      secret = token.value != null ? token.value : Files.readString(token.file).strip();
    }
    Optional<Path> ca = Optional.empty();
    if (trust.caFile != null) {
      ca = Optional.of(trust.caFile.toAbsolutePath());
    } else if (trust.fingerprint != null) {
      ca = Optional.of(pin(contexts.caFileFor(ctxName)));
    } else if (!Connection.loopback(address)) {
      throw new CliException(
          CliException.USAGE, "--insecure is only for a manager on this machine (" + address + ")");
    }
    Contexts.Context ctx = new Contexts.Context(ctxName, address, secret, ca, platform);
    try (Connection c = new Connection(ctx)) {
      if (platform) {
        var controllers =
            c.unary(io.opsscaffold.api.platform.v1.PlatformServiceGrpc.newBlockingStub(c.channel()))
                .listControllers(
                    io.opsscaffold.api.platform.v1.ListControllersRequest.getDefaultInstance());
        long areas =
            controllers.getControllersList().stream()
                .map(io.opsscaffold.api.platform.v1.Controller::getArea)
                .distinct()
                .count();
        contexts.put(ctx);
        contexts.use(ctxName);
        contexts.save();
        root.out()
            .printf(
                "logged in to the platform at %s as context '%s' (%d controllers in %d area%s);"
                    + " saved in %s%n",
                address,
                ctxName,
                controllers.getControllersCount(),
                areas,
                areas == 1 ? "" : "s",
                contexts.file());
        return 0;
      }
      long nodes =
          c.unary(FleetServiceGrpc.newBlockingStub(c.channel()))
              .listNodes(ListNodesRequest.newBuilder().setPageSize(1).build())
              .getTotal();
      contexts.put(ctx);
      contexts.use(ctxName);
      contexts.save();
      root.out()
          .printf(
              "logged in to %s as context '%s' (%d nodes); saved in %s%n",
              address, ctxName, nodes, contexts.file());
    } catch (io.grpc.StatusRuntimeException e) {
      throw Connection.explain(e);
    }
    return 0;
  }

  private X509Certificate fetch() {
    URI target = URI.create("tcp://" + address);
    try {
      return PinnedCa.fetch(
          target.getHost(),
          target.getPort(),
          Fingerprints.parse(trust.fingerprint),
          Duration.ofSeconds(10));
    } catch (IllegalArgumentException e) {
      throw new CliException(CliException.USAGE, "--ca-fingerprint: " + e.getMessage());
    } catch (IOException e) {
      throw new CliException(
          CliException.UNAVAILABLE, "cannot reach " + address + ": " + e.getMessage());
    } catch (SecurityException e) {
      throw new CliException(CliException.DENIED, e.getMessage());
    }
  }

  private Path pin(Path keep) throws IOException {
    X509Certificate ca = fetch();
    Files.createDirectories(keep.toAbsolutePath().getParent());
    AtomicFiles.write(
        keep,
        Pem.encode(ca).getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-r--r--"));
    return keep;
  }
}
