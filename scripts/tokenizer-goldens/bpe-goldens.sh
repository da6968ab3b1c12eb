#!/usr/bin/env bash
# Regenerates java/longbow-core/src/test/resources/tokenizer/bpe-{gpt2,qwen2,llama3}.jsonl: the texts of
# BpeTestTexts with the ids Hugging Face tokenizers (Rust, through DJL) gives for them, from tokenizer.json files
# written from the shared GPT-2, Qwen2 and Llama 3 vocabularies. Needs ../shared (or LONGBOW_SHARED) and JDK 25.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -pl java/longbow-core test -Dtest='BpeHuggingFaceTest#writeGoldens' -Dsurefire.failIfNoSpecifiedTests=false -Dlongbow.writeGoldens=true
ls -l java/longbow-core/src/test/resources/tokenizer/bpe-*.jsonl
