package dev.longbow.tokenizer;

import dev.longbow.TestData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * llama.cpp's tokenizer test vectors (tests/test-tokenizer-0: 46 texts, expected ids without BOS and without parsing
 * special tokens) against each way the byte-level vocabularies reach us: GGUF metadata, vocab.json + merges.txt, and
 * Meta's tiktoken file.
 */
class BpeLlamaCppVectorsTest {
    static List<String> texts(Path inp) throws IOException {
        String all = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>(Arrays.asList(all.split("\n__ggml_vocab_test__\n", -1)));
        texts.removeLast(); // the empty piece after the last separator
        return texts;
    }

    static List<int[]> expected(Path out) throws IOException {
        List<int[]> ids = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String s = line.strip();
            ids.add(s.isEmpty() ? new int[0] : Arrays.stream(s.split(" ")).mapToInt(Integer::parseInt).toArray());
        }
        return ids;
    }

    /** Every text must give exactly the expected ids; returns how many did. */
    static int check(Tokenizer tok, String vectors) throws IOException {
        List<String> texts = texts(TestData.shared("vocab/ggml-vocab-" + vectors + ".gguf.inp"));
        List<int[]> expected = expected(TestData.shared("vocab/ggml-vocab-" + vectors + ".gguf.out"));
        assertEquals(46, texts.size());
        assertEquals(texts.size(), expected.size());
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            int[] got = tok.encode(texts.get(i), false, false);
            if (!Arrays.equals(expected.get(i), got)) {
                failures.add("text " + i + " " + TokenizerTexts.show(texts.get(i)) + ": expected " + Arrays.toString(expected.get(i)) + " got " + Arrays.toString(got));
            }
        }
        assertEquals(List.of(), failures, vectors);
        System.out.printf("%s: %d/%d texts identical to llama.cpp%n", vectors, texts.size(), texts.size());
        return texts.size();
    }

    @Test
    void gpt2Gguf() throws IOException {
        check(Tokenizers.load(TestData.shared("vocab/ggml-vocab-gpt-2.gguf")), "gpt-2");
    }

    @Test
    void gpt2VocabAndMerges() throws IOException {
        Tokenizer tok = Tokenizers.load(TestData.shared("vocab/gpt2"));
        assertEquals(50257, tok.vocabSize());
        check(tok, "gpt-2");
    }

    @Test
    void qwen2VocabAndMerges() throws IOException {
        Tokenizer tok = Tokenizers.load(TestData.shared("vocab/qwen2"));
        assertEquals(151646, tok.vocabSize());
        check(tok, "qwen2");
    }

    @Test
    void llama3Tiktoken() throws IOException {
        Tokenizer tok = Tokenizers.load(TestData.shared("vocab/llama3/tokenizer.model"));
        assertEquals(128256, tok.vocabSize());
        check(tok, "llama-bpe");
    }
}
