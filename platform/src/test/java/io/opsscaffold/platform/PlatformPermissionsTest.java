package io.opsscaffold.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.opsscaffold.api.platform.v1.PlatformServiceGrpc;
import io.opsscaffold.manager.identity.Role;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class PlatformPermissionsTest {
  @Test
  void everyPlatformMethodNeedsARoleReadsAViewerAndBatchesAnOperator() {
    Set<String> served = new TreeSet<>();
    PlatformServiceGrpc.getServiceDescriptor()
        .getMethods()
        .forEach(m -> served.add(m.getFullMethodName()));
    PlatformPermissions rules = new PlatformPermissions();
    for (String m : served) {
      Optional<Role> role = rules.of(m).orElseThrow(() -> new AssertionError(m + " has no rule"));
      Role want = m.contains("Batch") ? Role.OPERATOR : Role.VIEWER;
      assertEquals(Optional.of(want), role, m);
    }
    Set<String> platformRules = new TreeSet<>(PlatformPermissions.METHODS.keySet());
    platformRules.removeIf(m -> !m.startsWith("opsscaffold.platform."));
    assertEquals(served, platformRules, "the table lists the platform's methods and no others");
    assertEquals(Optional.empty(), rules.of("opsscaffold.fleet.v1.FleetService/ListNodes"));
  }
}
