package dev.sluice.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import dev.sluice.protocol.fixture.ProtocolOffender;
import org.junit.jupiter.api.Test;

/**
 * Dependencies point one way. The wire format ({@code protocol}) is a leaf; errors sit on it; the
 * bookkeeping packages touch no Netty at all; the session engine uses Netty's buffers and nothing
 * else of it; nothing in the core knows a socket.
 */
class LayeringTest {
  private static final JavaClasses CORE =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.sluice");

  /** The wire format is a leaf. */
  static final ArchRule PROTOCOL_IS_A_LEAF =
      noClasses()
          .that()
          .resideInAPackage("dev.sluice.protocol..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(
              "dev.sluice.error..",
              "dev.sluice.session..",
              "dev.sluice.engine..",
              "dev.sluice.backend..",
              "dev.sluice.pool..",
              "dev.sluice.cache..",
              "dev.sluice.config..",
              "dev.sluice.auth..",
              "dev.sluice.state..",
              "dev.sluice.logging..",
              "dev.sluice.server..");

  @Test
  void protocolIsALeaf() {
    PROTOCOL_IS_A_LEAF.check(CORE);
  }

  @Test
  void theRuleCatchesAForbiddenDependency() {
    // A class in the protocol package that reaches up to the error package, as the protocol
    // once did: the rule must report it.
    JavaClasses offender = new ClassFileImporter().importClasses(ProtocolOffender.class);
    assertThat(PROTOCOL_IS_A_LEAF.evaluate(offender).hasViolation()).isTrue();
  }

  @Test
  void errorsSitOnTheProtocolOnly() {
    noClasses()
        .that()
        .resideInAPackage("dev.sluice.error..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.sluice.session..",
            "dev.sluice.engine..",
            "dev.sluice.backend..",
            "dev.sluice.pool..",
            "dev.sluice.config..",
            "dev.sluice.auth..",
            "dev.sluice.server..")
        .check(CORE);
  }

  @Test
  void stateMachinesAndLoggingDependOnNothingOfSluice() {
    noClasses()
        .that()
        .resideInAnyPackage("dev.sluice.state..", "dev.sluice.logging..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "dev.sluice.protocol..",
            "dev.sluice.session..",
            "dev.sluice.engine..",
            "dev.sluice.backend..",
            "dev.sluice.pool..",
            "dev.sluice.config..")
        .check(CORE);
  }

  @Test
  void lowerLayersDoNotReachUpToTheEngine() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "dev.sluice.session..",
            "dev.sluice.backend..",
            "dev.sluice.pool..",
            "dev.sluice.cache..",
            "dev.sluice.config..",
            "dev.sluice.auth..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.sluice.engine..")
        .check(CORE);
  }

  @Test
  void coreHasNoNettyChannelOrBootstrapCode() {
    noClasses()
        .that()
        .resideInAPackage("dev.sluice..")
        .and()
        .resideOutsideOfPackage("dev.sluice.protocol..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.netty.bootstrap..", "io.netty.channel..")
        .check(CORE);
  }

  @Test
  void theEngineUsesNettyBuffersOnly() {
    noClasses()
        .that()
        .resideInAnyPackage("dev.sluice.engine..", "dev.sluice.error..", "dev.sluice.auth..")
        .should()
        .dependOnClassesThat(
            resideInAPackage("io.netty..").and(not(resideInAPackage("io.netty.buffer.."))))
        .check(CORE);
  }

  @Test
  void bookkeepingTouchesNoNettyAtAll() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "dev.sluice.pool..",
            "dev.sluice.session..",
            "dev.sluice.cache..",
            "dev.sluice.config..",
            "dev.sluice.backend..",
            "dev.sluice.state..",
            "dev.sluice.logging..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("io.netty..")
        .check(CORE);
  }
}
