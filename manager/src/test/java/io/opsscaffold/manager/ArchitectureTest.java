package io.opsscaffold.manager;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The manager's package boundaries (docs/ARCHITECTURE.md, "Modules and packages"), checked on its
 * compiled classes: features form no cycle, the fleet is the core every feature builds on, only the
 * composition root and its own package touch the JDBC code.
 */
class ArchitectureTest {
  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.opsscaffold.manager");

  @Test
  void featurePackagesFormNoCycle() {
    slices().matching("io.opsscaffold.manager.(*)..").should().beFreeOfCycles().check(CLASSES);
  }

  @Test
  void theFleetDependsOnNoOtherFeature() {
    noClasses()
        .that()
        .resideInAPackage("..manager.fleet..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "..manager.link..",
            "..manager.operations..",
            "..manager.alerts..",
            "..manager.compat..",
            "..manager.gse..",
            "..manager.persistence..")
        .check(CLASSES);
  }

  @Test
  void theLinkKnowsNothingOfOperationsOrAlerts() {
    noClasses()
        .that()
        .resideInAPackage("..manager.link..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "..manager.cluster..",
            "..manager.operations..",
            "..manager.alerts..",
            "..manager.compat..",
            "..manager.gse..",
            "..manager.persistence..")
        .check(CLASSES);
  }

  @Test
  void onlyTheClusterPackageTalksToEtcd() {
    noClasses()
        .that()
        .resideOutsideOfPackage("..manager.cluster..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.etcd..")
        .check(CLASSES);
  }

  @Test
  void onlyTheCompositionRootUsesThePersistencePackage() {
    noClasses()
        .that()
        .resideOutsideOfPackages("io.opsscaffold.manager", "..manager.persistence..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("..manager.persistence..")
        .check(CLASSES);
  }

  @Test
  void decisionsAreFreeOfFrameworks() {
    noClasses()
        .that()
        .haveSimpleNameEndingWith("Availability")
        .or()
        .haveSimpleName("PendingWrites")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.grpc..", "io.helidon..", "java.sql..")
        .check(CLASSES);
  }
}
