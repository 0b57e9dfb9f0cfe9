package io.opsscaffold.platform;

import io.opsscaffold.manager.identity.ApiGuard;
import io.opsscaffold.manager.identity.Role;
import java.util.Map;
import java.util.Optional;

/**
 * Who may call what on the platform, with the manager's roles: reads need a viewer, batches an
 * operator. A method missing from the table is refused, and a test checks every served method has
 * an entry.
 */
final class PlatformPermissions implements ApiGuard.MethodRules {
  private static final String PLATFORM = "opsscaffold.platform.v1.PlatformService/";

  static final Map<String, Optional<Role>> METHODS =
      Map.ofEntries(
          Map.entry(PLATFORM + "ListControllers", Optional.of(Role.VIEWER)),
          Map.entry(PLATFORM + "ListAgents", Optional.of(Role.VIEWER)),
          Map.entry(PLATFORM + "GetAgent", Optional.of(Role.VIEWER)),
          Map.entry(PLATFORM + "GetAvailability", Optional.of(Role.VIEWER)),
          Map.entry(PLATFORM + "BatchOperate", Optional.of(Role.OPERATOR)),
          Map.entry(PLATFORM + "StreamBatchOperate", Optional.of(Role.OPERATOR)),
          Map.entry(PLATFORM + "BatchConfigs", Optional.of(Role.OPERATOR)),
          Map.entry("grpc.health.v1.Health/Check", Optional.empty()),
          Map.entry("grpc.health.v1.Health/Watch", Optional.empty()),
          Map.entry(
              "grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Optional.of(Role.VIEWER)),
          Map.entry(
              "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
              Optional.of(Role.VIEWER)));

  @Override
  public Optional<Optional<Role>> of(String fullMethodName) {
    return Optional.ofNullable(METHODS.get(fullMethodName));
  }

  @Override
  public boolean areaScoped(String fullMethodName) {
    return false; // the platform's tokens are not limited to areas
  }

  @Override
  public boolean longLived(String fullMethodName) {
    return false;
  }
}
