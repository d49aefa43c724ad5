# Sourced by the scripts that run Sluice from this checkout (quickstart.sh, bench.sh); not run
# alone. Needs ROOT, JAR and the caller's say and die.
# shellcheck shell=bash

# Builds $JAR when it is missing or older than any POM or source file, then checks for java.
build_if_needed() {
  local newer=""
  if [[ -f $JAR ]]; then
    newer=$(find "$ROOT/pom.xml" "$ROOT"/proxy-*/pom.xml "$ROOT"/proxy-*/src -newer "$JAR" -print -quit 2>/dev/null || true)
  fi
  if [[ ! -f $JAR || -n $newer ]]; then
    command -v mvn >/dev/null || die "Maven (mvn) is needed to build $JAR"
    say "building $JAR (mvn -B -q -DskipTests package)"
    (cd "$ROOT" && mvn -B -q -DskipTests package)
  fi
  [[ -f $JAR ]] || die "the build produced no $JAR"
  command -v java >/dev/null || die "java (17 or newer) is needed"
}
