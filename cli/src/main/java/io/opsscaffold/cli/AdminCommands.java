package io.opsscaffold.cli;

import com.google.protobuf.util.Durations;
import io.opsscaffold.api.admin.v1.AdminServiceGrpc;
import io.opsscaffold.api.admin.v1.ApiToken;
import io.opsscaffold.api.admin.v1.CreateApiTokenRequest;
import io.opsscaffold.api.admin.v1.CreateEnrollmentTokenRequest;
import io.opsscaffold.api.admin.v1.DeleteNodeRequest;
import io.opsscaffold.api.admin.v1.EnrollmentLabels;
import io.opsscaffold.api.admin.v1.EnrollmentToken;
import io.opsscaffold.api.admin.v1.ListApiTokensRequest;
import io.opsscaffold.api.admin.v1.ListEnrollmentTokensRequest;
import io.opsscaffold.api.admin.v1.RevokeApiTokenRequest;
import io.opsscaffold.api.admin.v1.RevokeEnrollmentTokenRequest;
import io.opsscaffold.api.admin.v1.RevokeNodeRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** Admin commands: API tokens, enrollment tokens, node revoke and delete (an admin's token). */
final class AdminCommands {
  private AdminCommands() {}

  static AdminServiceGrpc.AdminServiceBlockingStub admin(Connection c) {
    return c.unary(AdminServiceGrpc.newBlockingStub(c.channel()));
  }

  @Command(
      name = "token",
      mixinStandardHelpOptions = true,
      description = "API tokens: create (the secret is shown once), list, revoke.",
      subcommands = {Token.Create.class, Token.ListTokens.class, Token.Revoke.class})
  static final class Token {
    @ParentCommand Opsctl root;

    @Command(
        name = "create",
        mixinStandardHelpOptions = true,
        description = "Create an API token; prints its secret once.",
        footer = {
          "",
          "Examples:",
          "  opsctl token create grafana --role viewer",
          "  opsctl token create east-oncall --role operator --area east --ttl P7D"
        })
    static final class Create implements Callable<Integer> {
      @ParentCommand Token token;

      @Parameters(index = "0", paramLabel = "NAME")
      String name;

      @Option(names = "--role", required = true, description = "viewer, operator or admin.")
      String role;

      @Option(names = "--area", description = "Limit it to this area (repeatable).")
      List<String> areas = List.of();

      @Option(
          names = "--ttl",
          description = "How long it is valid, e.g. PT12H or P30D (default: until revoked).")
      Duration ttl = Duration.ZERO;

      @Override
      public Integer call() {
        try (Connection c = token.root.connect()) {
          var r =
              admin(c)
                  .createApiToken(
                      CreateApiTokenRequest.newBuilder()
                          .setName(name)
                          .setRole(role)
                          .addAllAreas(areas)
                          .setTtl(Durations.fromMillis(ttl.toMillis()))
                          .build());
          token.root.out().println(r.getSecret());
          token.root.out().flush();
        }
        return 0;
      }
    }

    @Command(
        name = "list",
        mixinStandardHelpOptions = true,
        description = "List API tokens (never their secrets): role, areas, expiry, last use.",
        footer = {"", "Example:", "  opsctl token list"})
    static final class ListTokens implements Callable<Integer> {
      @ParentCommand Token token;

      @Override
      public Integer call() {
        List<ApiToken> tokens;
        try (Connection c = token.root.connect()) {
          tokens =
              admin(c).listApiTokens(ListApiTokensRequest.getDefaultInstance()).getTokensList();
        }
        long now = System.currentTimeMillis();
        Table t = new Table("ID", "NAME", "ROLE", "AREAS", "STATE", "LAST USED", "AGE");
        for (ApiToken a : tokens) {
          String state = a.hasRevokedAt() ? "revoked" : "valid";
          t.row(
              a.getTokenId(),
              a.getName(),
              a.getRole(),
              a.getAreasList().isEmpty() ? "*" : String.join(",", a.getAreasList()),
              state,
              Render.age(a.getLastUsedAt(), now),
              Render.age(a.getCreatedAt(), now));
        }
        t.print(token.root.out());
        return 0;
      }
    }

    @Command(
        name = "revoke",
        mixinStandardHelpOptions = true,
        description = "Revoke an API token; calls with it are refused from then on.",
        footer = {"", "Example (the ID from opsctl token list):", "  opsctl token revoke 3f9c2a1b"})
    static final class Revoke implements Callable<Integer> {
      @ParentCommand Token token;

      @Parameters(index = "0", paramLabel = "ID")
      String id;

      @Override
      public Integer call() {
        try (Connection c = token.root.connect()) {
          admin(c).revokeApiToken(RevokeApiTokenRequest.newBuilder().setTokenId(id).build());
        }
        token.root.out().println("API token " + id + " revoked");
        return 0;
      }
    }
  }

  @Command(
      name = "enrollment-token",
      mixinStandardHelpOptions = true,
      description = "Enrollment tokens for new daemons: create, list, revoke.",
      subcommands = {Enrollment.Create.class, Enrollment.ListTokens.class, Enrollment.Revoke.class})
  static final class Enrollment {
    @ParentCommand Opsctl root;

    @Command(
        name = "create",
        mixinStandardHelpOptions = true,
        description =
            "Create an enrollment token; prints the join token (with the CA's fingerprint).",
        footer = {
          "",
          "Example:",
          "  opsctl enrollment-token create --max-uses 10 --area east --ttl PT24H"
        })
    static final class Create implements Callable<Integer> {
      @ParentCommand Enrollment enrollment;

      @Option(names = "--description", description = "What it is for.")
      String description = "";

      @Option(
          names = "--max-uses",
          description = "How many daemons may enroll with it (0: no limit).")
      int maxUses = 0;

      @Option(names = "--ttl", description = "How long it can be used (default PT24H).")
      Duration ttl = Duration.ZERO;

      @Option(names = "--area", description = "The area its nodes get.")
      String area = "";

      @Override
      public Integer call() {
        try (Connection c = enrollment.root.connect()) {
          var r =
              admin(c)
                  .createEnrollmentToken(
                      CreateEnrollmentTokenRequest.newBuilder()
                          .setDescription(description)
                          .setMaxUses(maxUses)
                          .setTtl(Durations.fromMillis(ttl.toMillis()))
                          .setLabels(EnrollmentLabels.newBuilder().setArea(area))
                          .build());
          enrollment
              .root
              .out()
              .println(r.getJoinToken().isEmpty() ? r.getSecret() : r.getJoinToken());
          enrollment.root.out().flush();
        }
        return 0;
      }
    }

    @Command(
        name = "list",
        mixinStandardHelpOptions = true,
        description = "List enrollment tokens: labels, uses, expiry.",
        footer = {"", "Example:", "  opsctl enrollment-token list"})
    static final class ListTokens implements Callable<Integer> {
      @ParentCommand Enrollment enrollment;

      @Override
      public Integer call() {
        List<EnrollmentToken> tokens;
        try (Connection c = enrollment.root.connect()) {
          tokens =
              admin(c)
                  .listEnrollmentTokens(ListEnrollmentTokensRequest.getDefaultInstance())
                  .getTokensList();
        }
        long now = System.currentTimeMillis();
        Table t = new Table("ID", "STATE", "USES", "AREA", "AGE", "DESCRIPTION");
        for (EnrollmentToken e : tokens) {
          t.row(
              e.getTokenId(),
              e.getState(),
              e.getUses() + (e.getMaxUses() == 0 ? "" : "/" + e.getMaxUses()),
              e.getLabels().getArea(),
              Render.age(e.getCreatedAt(), now),
              e.getDescription());
        }
        t.print(enrollment.root.out());
        return 0;
      }
    }

    @Command(
        name = "revoke",
        mixinStandardHelpOptions = true,
        description = "Revoke an enrollment token; daemons can no longer enroll with it.",
        footer = {
          "",
          "Example (the ID from opsctl enrollment-token list):",
          "  opsctl enrollment-token revoke 8d01e7c2"
        })
    static final class Revoke implements Callable<Integer> {
      @ParentCommand Enrollment enrollment;

      @Parameters(index = "0", paramLabel = "ID")
      String id;

      @Override
      public Integer call() {
        try (Connection c = enrollment.root.connect()) {
          admin(c)
              .revokeEnrollmentToken(
                  RevokeEnrollmentTokenRequest.newBuilder().setTokenId(id).build());
        }
        enrollment.root.out().println("enrollment token " + id + " revoked");
        return 0;
      }
    }
  }

  @Command(
      name = "node",
      mixinStandardHelpOptions = true,
      description = "Revoke or delete a node (its daemon is cut off; its agents keep running).",
      subcommands = {NodeAdmin.Revoke.class, NodeAdmin.Delete.class})
  static final class NodeAdmin {
    @ParentCommand Opsctl root;

    @Command(
        name = "revoke",
        mixinStandardHelpOptions = true,
        description = "Refuse the node's certificate from now on and remove it from the fleet.",
        footer = {"", "Example:", "  opsctl node revoke web-07"})
    static final class Revoke implements Callable<Integer> {
      @ParentCommand NodeAdmin node;

      @Parameters(index = "0", paramLabel = "NODE")
      String nodeId;

      @Option(names = "--reason", description = "Why, for the manager's log.")
      String reason = "";

      @Override
      public Integer call() {
        try (Connection c = node.root.connect()) {
          admin(c)
              .revokeNode(
                  RevokeNodeRequest.newBuilder().setNodeId(nodeId).setReason(reason).build());
        }
        node.root.out().println("node " + nodeId + " revoked");
        return 0;
      }
    }

    @Command(
        name = "delete",
        mixinStandardHelpOptions = true,
        description = "Forget a node that is not coming back (its id may enroll again).",
        footer = {"", "Example:", "  opsctl node delete web-07"})
    static final class Delete implements Callable<Integer> {
      @ParentCommand NodeAdmin node;

      @Parameters(index = "0", paramLabel = "NODE")
      String nodeId;

      @Override
      public Integer call() {
        boolean cut;
        try (Connection c = node.root.connect()) {
          cut =
              admin(c)
                  .deleteNode(DeleteNodeRequest.newBuilder().setNodeId(nodeId).build())
                  .getDisconnected();
        }
        node.root
            .out()
            .println("node " + nodeId + " deleted" + (cut ? " (its stream was closed)" : ""));
        return 0;
      }
    }
  }
}
