package io.opsscaffold.daemon;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The daemon's package boundaries (docs/ARCHITECTURE.md, "Modules and packages"), checked on its
 * compiled classes: no cycles; supervision is the core the adapters (link, local API, heartbeats,
 * config pushes, health checks) build on, never the other way round; the deciders are plain Java.
 */
class ArchitectureTest {
  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.opsscaffold.daemon");

  @Test
  void featurePackagesFormNoCycle() {
    slices().matching("io.opsscaffold.daemon.(*)..").should().beFreeOfCycles().check(CLASSES);
  }

  @Test
  void supervisionDependsOnNoAdapter() {
    noClasses()
        .that()
        .resideInAPackage("..daemon.supervision..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "..daemon.link..",
            "..daemon.api..",
            "..daemon.heartbeat..",
            "..daemon.config..",
            "..daemon.monitor..",
            "..daemon.queries..")
        .check(CLASSES);
  }

  @Test
  void theLinkAndTheLocalApiShareReadsButNotEachOther() {
    noClasses()
        .that()
        .resideInAPackage("..daemon.link..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("..daemon.api..")
        .check(CLASSES);
  }

  @Test
  void decidersArePlainJava() {
    noClasses()
        .that()
        .resideInAnyPackage("..daemon.restart..", "..daemon.health..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.grpc..",
            "io.helidon..",
            "io.opentelemetry..",
            "io.opsscaffold.daemon.supervision..")
        .check(CLASSES);
  }
}
