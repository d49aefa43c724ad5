# Sluice's container image: a Maven build stage, then the jar alone on a JRE, run as a user
# without privileges. Build and run (from the repository's root):
#
#   docker build -t sluice:0.1.0 .
#   docker run --rm -p 6432:6432 -e DATABASE_URL='postgres://app:secret@db.internal:5432/app' \
#     sluice:0.1.0
#
# Flags after the image name replace the default command (run --listen 0.0.0.0:6432);
# SLUICE_* variables and a config file (--config) work as they do outside a container. In a
# container the logs default to JSON lines (--log-format auto). Tests are not run here: they
# need a PostgreSQL server; run `mvn -B verify` before building.

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml ./
COPY proxy-core/pom.xml proxy-core/
COPY proxy-server/pom.xml proxy-server/
COPY proxy-cli/pom.xml proxy-cli/
COPY proxy-core/src proxy-core/src
COPY proxy-server/src proxy-server/src
COPY proxy-cli/src proxy-cli/src
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
RUN groupadd --system --gid 10001 sluice \
  && useradd --system --uid 10001 --gid sluice --no-create-home --shell /usr/sbin/nologin sluice
COPY --from=build /src/proxy-cli/target/sluice.jar /opt/sluice/sluice.jar
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
# 6432: PostgreSQL clients. 9930: the admin HTTP port (127.0.0.1 unless --admin-listen says
# otherwise, which beyond loopback needs --admin-token).
EXPOSE 6432 9930
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/sluice/sluice.jar"]
# Inside its own network namespace, loopback would reach no one: listen on every address.
CMD ["run", "--listen", "0.0.0.0:6432"]
