package dev.longbow.interop;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.longbow.TestData;
import dev.longbow.convert.GgufConverter;
import dev.longbow.format.GgufValue;
import dev.longbow.format.GgufWriter;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import dev.longbow.util.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Llama 2 vocabulary, read from its SentencePiece .model, tokenizes as llama.cpp itself does with special-token
 * parsing on (de.kherud's {@code encode} is llama.cpp's tokenize with parse_special and no BOS): every golden text,
 * plus texts that spell {@code <s>}, {@code </s>} and {@code <unk>} between words.
 */
class LlamaCppSentencePieceTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void isolateNativeLibrary() throws Exception {
        System.setProperty("de.kherud.llama.tmpdir", Files.createTempDirectory("longbow-llamacpp-").toString());
    }

    /** A one-layer llama with zero weights around {@code vocab}: llama.cpp needs weights to open a file, not good ones. */
    static Path tinyModel(Tokenizer vocab) throws Exception {
        int dim = 32, n = vocab.vocabSize();
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("general.architecture", GgufValue.string("llama"));
        md.put("general.name", GgufValue.string("tokenizer-test"));
        md.put("llama.vocab_size", GgufValue.u32(n));
        md.put("llama.context_length", GgufValue.u32(128));
        md.put("llama.embedding_length", GgufValue.u32(dim));
        md.put("llama.block_count", GgufValue.u32(1));
        md.put("llama.feed_forward_length", GgufValue.u32(dim));
        md.put("llama.attention.head_count", GgufValue.u32(1));
        md.put("llama.attention.head_count_kv", GgufValue.u32(1));
        md.put("llama.attention.layer_norm_rms_epsilon", GgufValue.f32(1e-5f));
        md.put("llama.rope.dimension_count", GgufValue.u32(dim));
        md.putAll(GgufConverter.tokenizerMetadata(vocab));
        List<GgufWriter.OutTensor> tensors = new ArrayList<>();
        tensors.add(zeros("token_embd.weight", n, dim));
        for (String t : List.of("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")) tensors.add(zeros("blk.0." + t + ".weight", dim, dim));
        for (String t : List.of("blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight")) tensors.add(zeros(t, 0, dim));
        tensors.add(zeros("output.weight", n, dim));
        Path out = dir.resolve("llama2-vocab.gguf");
        GgufWriter.write(out, md, tensors);
        return out;
    }

    static GgufWriter.OutTensor zeros(String name, int rows, int cols) {
        long[] shape = rows == 0 ? new long[]{cols} : new long[]{rows, cols};
        return new GgufWriter.OutTensor(name, WeightType.F32, shape, () -> MemorySegment.ofArray(new byte[Math.max(1, rows) * cols * 4]));
    }

    @Test
    void parseSpecialAndPlainTextTokenizeAsInLlamaCpp() throws Exception {
        Tokenizer ours = Tokenizers.load(TestData.shared("models/llama2-tokenizer.model"));
        List<String> texts = new ArrayList<>(List.of("<s>Hello</s> world", "a<unk>b", "<s><s>x", " <s> x ", "</s>\n<s>", "<s>", "x</s>",
                "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi there [/INST] Hello!</s><s>[INST] Again [/INST]", "<<s>>", "< s>", "<s >"));
        for (String file : List.of("spm-llama2.jsonl", "spm-llama2-random.jsonl")) {
            for (String line : Files.readAllLines(Path.of("src/test/resources/tokenizer", file))) {
                Map<String, Object> o = Json.parseObject(line, file);
                if (o.get("text") instanceof String s && !hasUnpairedSurrogate(s)) texts.add(s);
            }
        }
        int same = 0;
        List<String> failures = new ArrayList<>();
        try (LlamaModel m = new LlamaModel(new ModelParameters().setModel(tinyModel(ours).toString()).setCtxSize(128).setThreads(1).disableLog())) {
            for (String s : texts) {
                int[] theirs = m.encode(s), mine = ours.encode(s, false, true);
                if (Arrays.equals(theirs, mine)) same++;
                else failures.add(Json.write(s) + ": llama.cpp " + Arrays.toString(theirs) + ", longbow " + Arrays.toString(mine));
            }
        }
        assertEquals(1, ours.encode("<s>Hello</s> world", false, true)[0]); // the spellings really were parsed
        System.out.printf("llama.cpp (parse_special) and Longbow agree on %d/%d texts%n", same, texts.size());
        assertTrue(failures.isEmpty(), failures.size() + " differ, first:\n" + String.join("\n", failures.subList(0, Math.min(5, failures.size()))));
    }

    /** The binding hands text to llama.cpp through String.getBytes, which writes an unpaired surrogate as '?'. */
    static boolean hasUnpairedSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) i++;
            else if (Character.isSurrogate(c)) return true;
        }
        return false;
    }
}
