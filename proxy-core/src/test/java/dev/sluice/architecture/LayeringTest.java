package dev.sluice.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The wire format is a leaf: nothing in {@code protocol} may reach up into the layers above. */
class LayeringTest {
  private static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.sluice");

  @Test
  void protocolDependsOnNoSessionPoolOrCache() {
    noClasses()
        .that()
        .resideInAPackage("dev.sluice.protocol..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.sluice.session..",
            "dev.sluice.pool..",
            "dev.sluice.cache..",
            "dev.sluice.config..",
            "dev.sluice.auth..",
            "dev.sluice.server..")
        .check(CORE);
  }

  @Test
  void coreHasNoNettyChannelOrBootstrapCode() {
    noClasses()
        .that()
        .resideInAPackage("dev.sluice..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.netty.bootstrap..", "io.netty.channel.socket..", "io.netty.channel.epoll..")
        .check(CORE);
  }

  @Test
  void poolAndSessionBookkeepingDoNotTouchSockets() {
    noClasses()
        .that()
        .resideInAnyPackage("dev.sluice.pool..", "dev.sluice.session..", "dev.sluice.config..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.netty..")
        .check(CORE);
  }
}
