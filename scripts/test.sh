#!/usr/bin/env bash
# The whole Longbow test suite: every module's JUnit tests (format readers and the fuzzer, the forward pass against
# llama2.c goldens, llama.cpp interop, the CLI, the embedding example). Tests that need ../shared skip when it is absent.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
find_jdk
find_maven
cd "$LONGBOW_ROOT"
echo "longbow: testing with $("$JAVA" -version 2>&1 | head -1), $(mvn -v 2>/dev/null | head -1)"
mvn -B verify "$@"
