package io.opsscaffold.manager.identity;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.admin.v1.AdminServiceGrpc;
import io.opsscaffold.api.admin.v1.CreateEnrollmentTokenRequest;
import io.opsscaffold.api.admin.v1.CreateEnrollmentTokenResponse;
import io.opsscaffold.api.admin.v1.DeleteNodeRequest;
import io.opsscaffold.api.admin.v1.DeleteNodeResponse;
import io.opsscaffold.api.admin.v1.EnrollRequest;
import io.opsscaffold.api.admin.v1.EnrollResponse;
import io.opsscaffold.api.admin.v1.EnrollmentLabels;
import io.opsscaffold.api.admin.v1.EnrollmentServiceGrpc;
import io.opsscaffold.api.admin.v1.ListEnrollmentTokensRequest;
import io.opsscaffold.api.admin.v1.ListEnrollmentTokensResponse;
import io.opsscaffold.api.admin.v1.ListNodeCredentialsRequest;
import io.opsscaffold.api.admin.v1.ListNodeCredentialsResponse;
import io.opsscaffold.api.admin.v1.RevokeEnrollmentTokenRequest;
import io.opsscaffold.api.admin.v1.RevokeNodeRequest;
import io.opsscaffold.errors.ErrorMapper;
import io.opsscaffold.errors.OpsException;
import java.time.Clock;
import java.time.Duration;

/**
 * gRPC adapters of node identity (also served over HTTP/JSON by the transcoder): enrollment, open
 * to token holders, and the admin's calls, guarded by {@link ApiGuard}. Translate and delegate.
 */
public final class IdentityGrpcServices {
  private IdentityGrpcServices() {}

  /** {@code EnrollmentService}. */
  public static final class EnrollmentApi extends EnrollmentServiceGrpc.EnrollmentServiceImplBase {
    private final Enrollment enrollment;

    public EnrollmentApi(Enrollment enrollment) {
      this.enrollment = enrollment;
    }

    @Override
    public void enroll(EnrollRequest req, StreamObserver<EnrollResponse> out) {
      ErrorMapper.reply(
          out,
          () -> {
            boolean admin = ApiGuard.current().map(p -> p.role().allows(Role.ADMIN)).orElse(false);
            Enrollment.Enrolled e =
                enrollment.enroll(
                    req.getToken(), req.getNodeId(), req.getCsrPem(), req.getReplace(), admin);
            return EnrollResponse.newBuilder()
                .setCertificatePem(e.certificatePem())
                .setCaPem(e.caPem())
                .setNotAfter(Timestamps.fromMillis(e.notAfterMs()))
                .setLabels(labels(e.labels()))
                .build();
          });
    }
  }

  /** {@code AdminService}. */
  public static final class AdminApi extends AdminServiceGrpc.AdminServiceImplBase {
    private final Enrollment enrollment;
    private final IdentityRepository repository;
    private final NodeRemoval removal;
    private final ApiTokens tokens;
    private final Clock clock;

    public AdminApi(
        Enrollment enrollment,
        IdentityRepository repository,
        NodeRemoval removal,
        ApiTokens tokens,
        Clock clock) {
      this.enrollment = enrollment;
      this.repository = repository;
      this.removal = removal;
      this.tokens = tokens;
      this.clock = clock;
    }

    @Override
    public void createApiToken(
        io.opsscaffold.api.admin.v1.CreateApiTokenRequest req,
        StreamObserver<io.opsscaffold.api.admin.v1.CreateApiTokenResponse> out) {
      ErrorMapper.reply(
          out,
          () -> {
            Role role =
                Role.parse(req.getRole())
                    .orElseThrow(
                        () ->
                            OpsException.invalidArgument("role must be viewer, operator or admin"));
            Duration ttl = ttl(req.hasTtl(), req.getTtl());
            ApiTokens.Created c = tokens.create(req.getName(), role, req.getAreasList(), ttl);
            return io.opsscaffold.api.admin.v1.CreateApiTokenResponse.newBuilder()
                .setToken(apiToken(c.token()))
                .setSecret(c.secret())
                .build();
          });
    }

    @Override
    public void listApiTokens(
        io.opsscaffold.api.admin.v1.ListApiTokensRequest req,
        StreamObserver<io.opsscaffold.api.admin.v1.ListApiTokensResponse> out) {
      ErrorMapper.reply(
          out,
          () -> {
            var b = io.opsscaffold.api.admin.v1.ListApiTokensResponse.newBuilder();
            repository.apiTokens().forEach(t -> b.addTokens(apiToken(t)));
            return b.build();
          });
    }

    @Override
    public void revokeApiToken(
        io.opsscaffold.api.admin.v1.RevokeApiTokenRequest req,
        StreamObserver<io.opsscaffold.api.admin.v1.ApiToken> out) {
      ErrorMapper.reply(
          out,
          () -> {
            if (!tokens.revoke(req.getTokenId())) {
              throw OpsException.notFound("API token '" + req.getTokenId() + "' does not exist");
            }
            return apiToken(repository.apiToken(req.getTokenId()).orElseThrow());
          });
    }

    @Override
    public void createEnrollmentToken(
        CreateEnrollmentTokenRequest req, StreamObserver<CreateEnrollmentTokenResponse> out) {
      ErrorMapper.reply(
          out,
          () -> {
            Duration ttl = ttl(req.hasTtl(), req.getTtl());
            if (req.getMaxUses() > 1_000_000) {
              throw OpsException.invalidArgument("max_uses must be at most 1000000");
            }
            Enrollment.Created c =
                enrollment.createToken(
                    req.getDescription(),
                    ttl,
                    req.getMaxUses(),
                    new Labels(
                        req.getLabels().getArea(),
                        req.getLabels().getZone(),
                        req.getLabels().getBusiness()));
            return CreateEnrollmentTokenResponse.newBuilder()
                .setToken(token(c.token()))
                .setSecret(c.secret())
                .setJoinToken(c.joinToken())
                .setCaFingerprint(enrollment.caFingerprint())
                .build();
          });
    }

    @Override
    public void listEnrollmentTokens(
        ListEnrollmentTokensRequest req, StreamObserver<ListEnrollmentTokensResponse> out) {
      ErrorMapper.reply(
          out,
          () -> {
            var b = ListEnrollmentTokensResponse.newBuilder();
            repository.enrollmentTokens().forEach(t -> b.addTokens(token(t)));
            return b.build();
          });
    }

    @Override
    public void revokeEnrollmentToken(
        RevokeEnrollmentTokenRequest req,
        StreamObserver<io.opsscaffold.api.admin.v1.EnrollmentToken> out) {
      ErrorMapper.reply(
          out,
          () -> {
            if (!repository.revokeEnrollmentToken(req.getTokenId(), clock.millis())) {
              throw OpsException.notFound(
                  "enrollment token '" + req.getTokenId() + "' does not exist");
            }
            return token(repository.enrollmentToken(req.getTokenId()).orElseThrow());
          });
    }

    @Override
    public void listNodeCredentials(
        ListNodeCredentialsRequest req, StreamObserver<ListNodeCredentialsResponse> out) {
      ErrorMapper.reply(
          out,
          () -> {
            var b = ListNodeCredentialsResponse.newBuilder();
            repository.credentials().forEach(c -> b.addNodes(credential(c)));
            return b.build();
          });
    }

    @Override
    public void revokeNode(
        RevokeNodeRequest req, StreamObserver<io.opsscaffold.api.admin.v1.NodeCredential> out) {
      ErrorMapper.reply(
          out,
          () -> {
            removal.revoke(req.getNodeId(), req.getReason(), who());
            return repository
                .credential(req.getNodeId())
                .map(IdentityGrpcServices::credential)
                .orElse(
                    io.opsscaffold.api.admin.v1.NodeCredential.newBuilder()
                        .setNodeId(req.getNodeId())
                        .build());
          });
    }

    @Override
    public void deleteNode(DeleteNodeRequest req, StreamObserver<DeleteNodeResponse> out) {
      ErrorMapper.reply(
          out,
          () -> {
            NodeRemoval.Removed r = removal.delete(req.getNodeId(), who());
            return DeleteNodeResponse.newBuilder()
                .setNodeId(r.nodeId())
                .setDisconnected(r.disconnected())
                .build();
          });
    }

    private io.opsscaffold.api.admin.v1.EnrollmentToken token(EnrollmentToken t) {
      var b =
          io.opsscaffold.api.admin.v1.EnrollmentToken.newBuilder()
              .setTokenId(t.tokenId())
              .setDescription(t.description())
              .setCreatedAt(Timestamps.fromMillis(t.createdMs()))
              .setExpiresAt(Timestamps.fromMillis(t.expiresMs()))
              .setMaxUses(t.maxUses())
              .setUses(t.uses())
              .setLabels(labels(t.labels()))
              .setState(t.state(clock.millis()).text());
      if (t.revokedMs() > 0) {
        b.setRevokedAt(Timestamps.fromMillis(t.revokedMs()));
      }
      return b.build();
    }
  }

  /** A request's ttl field: zero when unset; INVALID_ARGUMENT naming it when malformed. */
  private static Duration ttl(boolean set, com.google.protobuf.Duration ttl) {
    if (!set) {
      return Duration.ZERO;
    }
    try {
      return Duration.ofMillis(Durations.toMillis(Durations.checkValid(ttl)));
    } catch (IllegalArgumentException e) {
      throw OpsException.invalidArgument("ttl is not a valid duration");
    }
  }

  private static String who() {
    return ApiGuard.current().map(Principal::name).orElse("anonymous");
  }

  static io.opsscaffold.api.admin.v1.NodeCredential credential(NodeCredential c) {
    var b =
        io.opsscaffold.api.admin.v1.NodeCredential.newBuilder()
            .setNodeId(c.nodeId())
            .setSerial(c.serial())
            .setNotAfter(Timestamps.fromMillis(c.notAfterMs()))
            .setEnrolledAt(Timestamps.fromMillis(c.enrolledMs()))
            .setTokenId(c.tokenId())
            .setLabels(labels(c.labels()));
    if (c.revokedMs() > 0) {
      b.setRevokedAt(Timestamps.fromMillis(c.revokedMs()));
    }
    return b.build();
  }

  static io.opsscaffold.api.admin.v1.ApiToken apiToken(ApiToken t) {
    var b =
        io.opsscaffold.api.admin.v1.ApiToken.newBuilder()
            .setTokenId(t.tokenId())
            .setName(t.name())
            .setRole(t.role().text())
            .addAllAreas(t.areas())
            .setCreatedAt(Timestamps.fromMillis(t.createdMs()));
    if (t.expiresMs() > 0) {
      b.setExpiresAt(Timestamps.fromMillis(t.expiresMs()));
    }
    if (t.lastUsedMs() > 0) {
      b.setLastUsedAt(Timestamps.fromMillis(t.lastUsedMs()));
    }
    if (t.revokedMs() > 0) {
      b.setRevokedAt(Timestamps.fromMillis(t.revokedMs()));
    }
    return b.build();
  }

  static EnrollmentLabels labels(Labels l) {
    return EnrollmentLabels.newBuilder()
        .setArea(l.area())
        .setZone(l.zone())
        .setBusiness(l.business())
        .build();
  }
}
