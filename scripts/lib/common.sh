# Shared by Longbow's scripts: locate a JDK 25+ and Maven, and build the jars when sources changed.
# Source it; it defines LONGBOW_ROOT, JAVA, longbow_build.

LONGBOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# -XX:Tier3DelayOn: never skip the profiled tier on the way to C2 (CONTRIBUTING.md, "JIT rules").
LONGBOW_JVM_FLAGS=(--enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -XX:+UseParallelGC -Xss4m -XX:Tier3DelayOn=100000)

# Prints the major version of the java binary $1, or nothing.
java_major() {
    "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

find_jdk() {
    local candidates=()
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    for d in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/lib/jvm/* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
        [ -d "$d" ] && candidates+=("$d")
    done
    local j m
    if command -v java >/dev/null 2>&1; then
        j="$(command -v java)"
        m="$(java_major "$j")"
        if [ -n "$m" ] && [ "$m" -ge 25 ] 2>/dev/null; then
            JAVA_HOME="$(cd "$(dirname "$(readlink -f "$j")")/.." && pwd)"
        fi
    fi
    for d in "${candidates[@]}"; do
        [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] || continue
        m="$(java_major "$d/bin/java")"
        if [ -n "$m" ] && [ "$m" -ge 25 ] 2>/dev/null; then
            JAVA_HOME="$d"
            break
        fi
    done
    if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(java_major "$JAVA_HOME/bin/java")" -lt 25 ] 2>/dev/null; then
        echo "longbow: no JDK 25 or newer found (looked at JAVA_HOME and /usr/lib/jvm, /opt/java, ~/.sdkman); install one and set JAVA_HOME" >&2
        exit 1
    fi
    export JAVA_HOME
    JAVA="$JAVA_HOME/bin/java"
}

find_maven() {
    if ! command -v mvn >/dev/null 2>&1; then
        echo "longbow: Maven (mvn) is needed to build Longbow and is not on PATH; install Maven 3.8+" >&2
        exit 1
    fi
}

CORE_JAR="$LONGBOW_ROOT/java/longbow-core/target/longbow-core-0.1.0-SNAPSHOT.jar"
SERVER_JAR="$LONGBOW_ROOT/java/longbow-server/target/longbow-server-0.1.0-SNAPSHOT.jar"
CLI_JAR="$LONGBOW_ROOT/java/longbow-cli/target/longbow-cli-0.1.0-SNAPSHOT.jar"
CUDA_JAR="$LONGBOW_ROOT/java/longbow-cuda/target/longbow-cuda-0.1.0-SNAPSHOT.jar"
# The CLI's runtime dependencies (the Longbow jars, and the server's from Maven Central: Jinjava for chat templates),
# written by longbow_build.
CLI_DEPS="$LONGBOW_ROOT/java/longbow-cli/target/classpath.txt"

# The classpath to run the CLI with; call after longbow_build.
longbow_classpath() {
    echo "$CLI_JAR:$(cat "$CLI_DEPS")"
}

# Builds the jars on first use and whenever a source, resource or POM is newer than the last build.
longbow_build() {
    local stamp="$LONGBOW_ROOT/java/longbow-cli/target/.longbow-built"
    if [ -f "$stamp" ] && [ -f "$CORE_JAR" ] && [ -f "$SERVER_JAR" ] && [ -f "$CLI_JAR" ] && [ -f "$CUDA_JAR" ] && [ -f "$CLI_DEPS" ] && \
       [ -z "$(find "$LONGBOW_ROOT/java" "$LONGBOW_ROOT/models" "$LONGBOW_ROOT/cuda-kernels" "$LONGBOW_ROOT/pom.xml" -newer "$stamp" -type f \
              -not -path '*/target/*' -not -path '*/node_modules/*' -print -quit 2>/dev/null)" ]; then
        return 0
    fi
    find_maven
    mkdir -p "$LONGBOW_ROOT/java/longbow-cli/target"
    local log="$LONGBOW_ROOT/java/longbow-cli/target/build.log"
    echo "longbow: building (first use or sources changed)..." >&2
    if ! (cd "$LONGBOW_ROOT" && mvn -B -q -DskipTests -pl java/longbow-core,java/longbow-server,java/longbow-cli -am package \
            dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime >"$log" 2>&1); then
        grep -E 'ERROR|error:' "$log" | head -20 >&2
        echo "longbow: build failed; full log in $log" >&2
        exit 1
    fi
    touch "$stamp"
}

# Builds the benchmark module (and what it needs) and prints its classpath: the peers (llama.cpp, Hugging Face
# tokenizers) come from Maven Central as its dependencies.
bench_classpath() {
    (cd "$LONGBOW_ROOT" && mvn -B -q -DskipTests -pl java/longbow-bench -am package dependency:build-classpath \
        -Dmdep.outputFile=target/classpath.txt >&2) || { echo "longbow: building the benchmark module failed" >&2; exit 1; }
    echo "$LONGBOW_ROOT/java/longbow-bench/target/longbow-bench-0.1.0-SNAPSHOT.jar:$(cat "$LONGBOW_ROOT/java/longbow-bench/target/classpath.txt")"
}
