package io.opsscaffold.manager.identity;

import java.util.Map;
import java.util.Optional;

/**
 * The one table of who may call what: every RPC the manager serves, by full method name, with the
 * role it needs, or open ({@link #OPEN}: health checks, enrollment, whose token is its credential,
 * and the daemon link, which is authenticated by client certificates). A method missing from the
 * table is refused ({@code ApiGuard} fails closed), and a test checks every served method has an
 * entry.
 */
public final class ApiPermissions {
  /** Marks a method that needs no API credential. */
  public static final Optional<Role> OPEN = Optional.empty();

  private static final String FLEET = "opsscaffold.fleet.v1.FleetService/";
  private static final String GSE = "opsscaffold.gse.v1.GseService/";
  private static final String CONTROLLER = "opsscaffold.compat.controller.v1.ControllerService/";
  private static final String ADMIN = "opsscaffold.admin.v1.AdminService/";

  private static final Map<String, Optional<Role>> METHODS =
      Map.ofEntries(
          viewer(FLEET + "ListNodes"),
          viewer(FLEET + "GetNode"),
          viewer(FLEET + "ListAgents"),
          viewer(FLEET + "GetAgent"),
          viewer(FLEET + "ListFleetAgents"),
          viewer(FLEET + "GetFleetAgent"),
          viewer(FLEET + "GetAvailabilitySummary"),
          operator(FLEET + "BatchOperateAgents"),
          operator(FLEET + "StreamBatchOperateAgents"),
          operator(FLEET + "BatchPushConfigs"),
          viewer(FLEET + "ListOperations"),
          viewer(FLEET + "GetOperation"),
          viewer(FLEET + "ListAlerts"),
          viewer(FLEET + "WatchAlerts"),
          viewer(FLEET + "WatchAgents"),
          viewer(FLEET + "GetAgentLogs"),
          viewer(FLEET + "FollowAgentLogs"),
          viewer(FLEET + "GetAgentMetrics"),
          operator(FLEET + "GetAgentConfig"), // configuration may hold secrets
          operator(FLEET + "OperateAgent"),
          viewer(GSE + "GetAgentStatus"),
          viewer(GSE + "GetAgentInfo"),
          viewer(CONTROLLER + "ListHosts"),
          viewer(CONTROLLER + "GetHost"),
          viewer(CONTROLLER + "ListPackages"),
          viewer(CONTROLLER + "GetHostHealth"),
          viewer(CONTROLLER + "GetPackageHealth"),
          viewer(CONTROLLER + "GetSystemMetrics"),
          viewer(CONTROLLER + "GetServiceMetrics"),
          viewer(CONTROLLER + "GetStatus"),
          operator(CONTROLLER + "BatchConfigs"),
          operator(CONTROLLER + "BatchOperate"),
          admin(ADMIN + "CreateEnrollmentToken"),
          admin(ADMIN + "ListEnrollmentTokens"),
          admin(ADMIN + "RevokeEnrollmentToken"),
          admin(ADMIN + "ListNodeCredentials"),
          admin(ADMIN + "RevokeNode"),
          admin(ADMIN + "DeleteNode"),
          admin(ADMIN + "CreateApiToken"),
          admin(ADMIN + "ListApiTokens"),
          admin(ADMIN + "RevokeApiToken"),
          open("opsscaffold.admin.v1.EnrollmentService/Enroll"),
          open("opsscaffold.link.v1.DaemonLinkService/Connect"),
          // Another manager of the area: the service checks its manager certificate itself.
          open("opsscaffold.cluster.v1.PeerService/Relay"),
          open("grpc.health.v1.Health/Check"),
          open("grpc.health.v1.Health/Watch"),
          viewer("grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
          viewer("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));

  /**
   * The methods that honour a token's areas (each node they read or act on is checked against them,
   * a batch is refused whole when a target is outside). Every other method that needs a role is
   * refused to an area-scoped token, rather than answering with what lies outside its areas.
   */
  private static final java.util.Set<String> AREA_SCOPED =
      java.util.Set.of(
          FLEET + "ListNodes",
          FLEET + "GetNode",
          FLEET + "ListAgents",
          FLEET + "GetAgent",
          FLEET + "ListFleetAgents",
          FLEET + "GetFleetAgent",
          FLEET + "GetAvailabilitySummary",
          FLEET + "BatchOperateAgents",
          FLEET + "StreamBatchOperateAgents",
          FLEET + "BatchPushConfigs",
          FLEET + "GetAgentLogs",
          FLEET + "FollowAgentLogs",
          FLEET + "GetAgentMetrics",
          FLEET + "GetAgentConfig",
          FLEET + "OperateAgent",
          FLEET + "ListAlerts",
          FLEET + "WatchAlerts",
          FLEET + "WatchAgents");

  /** Calls that stay open (watches and log follows), counted per credential while open. */
  private static final java.util.Set<String> LONG_LIVED =
      java.util.Set.of(FLEET + "WatchAgents", FLEET + "WatchAlerts", FLEET + "FollowAgentLogs");

  private ApiPermissions() {}

  /** The manager's table, for {@link ApiGuard}. */
  public static final ApiGuard.MethodRules RULES =
      new ApiGuard.MethodRules() {
        @Override
        public Optional<Optional<Role>> of(String fullMethodName) {
          return ApiPermissions.of(fullMethodName);
        }

        @Override
        public boolean areaScoped(String fullMethodName) {
          return ApiPermissions.areaScoped(fullMethodName);
        }

        @Override
        public boolean longLived(String fullMethodName) {
          return ApiPermissions.longLived(fullMethodName);
        }
      };

  /** Whether {@code fullMethodName} stays open (a watch or a follow). */
  public static boolean longLived(String fullMethodName) {
    return LONG_LIVED.contains(fullMethodName);
  }

  /** Whether {@code fullMethodName} honours area scopes. */
  public static boolean areaScoped(String fullMethodName) {
    return AREA_SCOPED.contains(fullMethodName);
  }

  /**
   * What {@code fullMethodName} needs: a role, {@link #OPEN}, or nothing when the method is not in
   * the table (refuse it).
   */
  public static Optional<Optional<Role>> of(String fullMethodName) {
    return Optional.ofNullable(METHODS.get(fullMethodName));
  }

  /** Every method in the table. */
  public static java.util.Set<String> methods() {
    return METHODS.keySet();
  }

  private static Map.Entry<String, Optional<Role>> viewer(String method) {
    return Map.entry(method, Optional.of(Role.VIEWER));
  }

  private static Map.Entry<String, Optional<Role>> operator(String method) {
    return Map.entry(method, Optional.of(Role.OPERATOR));
  }

  private static Map.Entry<String, Optional<Role>> admin(String method) {
    return Map.entry(method, Optional.of(Role.ADMIN));
  }

  private static Map.Entry<String, Optional<Role>> open(String method) {
    return Map.entry(method, OPEN);
  }
}
