package dev.longbow.format;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.model.ModelConfig;
import dev.longbow.model.ModelWeights;
import dev.longbow.tensor.Tensor;
import dev.longbow.tokenizer.Tokenizers;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Mutation fuzzing over real headers. Opening a damaged model or tokenizer file must either succeed or throw a
 * {@link LongbowException} whose message names the file: never another exception (index, argument, arithmetic,
 * cast, null, out of memory, stack overflow) and never a hang.
 *
 * <p>Seeds are real files: a GGUF v3 written from the bundled stories260K checkpoint, the same tensors as a
 * Hugging Face folder (config.json + model.safetensors), the llama2.c checkpoint itself, the llama2.c tokenizer
 * tok512.bin and, when ../shared has it, llama.cpp's vocab-only GGUF. Every case draws its mutations from its own
 * {@code Random(caseSeed(kind, n))}, so a failure names the kind and case number, and
 * {@code -Dlongbow.fuzz.case=kind:n} reruns just that case.
 */
class FormatFuzzTest {
    private static final long SEED = 0x4C6F6E67626F77L; // "Longbow"
    private static final int BATCH = 100;
    private static final Duration BATCH_LIMIT = Duration.ofSeconds(30);

    /** {@code -Dlongbow.fuzz.scale=10} runs ten times as many cases, for a deeper search than the build's. */
    private static final int SCALE = Integer.getInteger("longbow.fuzz.scale", 1);
    private static final int GGUF_CASES = 1500 * SCALE;
    private static final int SAFETENSORS_CASES = 800 * SCALE;
    private static final int LLAMA2C_CASES = 500 * SCALE;
    private static final int TOKENIZER_BIN_CASES = 500 * SCALE;
    private static final int VOCAB_GGUF_CASES = 300 * SCALE;

    /** Values that sit on the edges readers get wrong: zero, negatives, sign bits, int/long limits, absurd counts. */
    private static final long[] INTERESTING = {
            0, 1, 2, 3, 7, 8, 9, 12, 13, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 65536, 1 << 20, 1 << 24,
            -1, -2, -8, -128, -32768, Integer.MAX_VALUE, Integer.MIN_VALUE, 0xFFFFFFFFL, 1L << 31, 1L << 32,
            1L << 40, (1L << 40) + 1, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE & ~31L,
            100L << 20, 1_000_000_000L, 0xDEADBEEFL};
    private static final int[] BYTE_VALUES = {0x00, 0xFF, 0x7F, 0x80};

    // ---- the five seeds ----

    @Test
    void ggufModel(@TempDir Path dir) throws IOException {
        try (ModelFile source = ModelLoader.open(TestData.bundledModel())) {
            Map<String, GgufValue> md = llamaMetadata(source.config());
            List<GgufWriter.OutTensor> tensors = source.tensors().values().stream()
                    .map(t -> new GgufWriter.OutTensor(t.name(), t.type(), t.shape(), t::data)).toList();
            Path seedFile = dir.resolve("seed.gguf");
            GgufWriter.write(seedFile, md, tensors);
            byte[] seed = Files.readAllBytes(seedFile);
            Fields fields = ggufFields(seed);
            openModel(seedFile); // the unmutated seed must open

            fuzz("gguf", GGUF_CASES, (n, r, how) -> {
                Path p = dir.resolve("case-" + n + ".gguf");
                if (r.nextInt(5) == 0) {
                    // Type confusion and missing keys, which byte mutations rarely reach: rewrite the metadata.
                    Map<String, GgufValue> m = mutateMetadata(md, r, how, "llama.", Set.of("general.alignment"));
                    GgufWriter.write(p, m, tensors);
                } else {
                    Files.write(p, new Mutator(seed, fields, r, how).mutate());
                }
                return p;
            }, FormatFuzzTest::openModel);
        }
    }

    @Test
    void safetensorsFolder(@TempDir Path dir) throws IOException {
        byte[] safetensors;
        try (ModelFile source = ModelLoader.open(TestData.bundledModel())) {
            List<Tensor> hf = source.tensors().values().stream()
                    .map(t -> new Tensor(HuggingFace.hfName(t.name()), t.type(), t.shape(), t.data())).toList();
            Path st = dir.resolve("seed.safetensors");
            Safetensors.write(st, hf);
            safetensors = Files.readAllBytes(st);
        }
        String config = """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 172,
                 "num_hidden_layers": 5, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 8,
                 "vocab_size": 512, "max_position_embeddings": 512, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
                 "tie_word_embeddings": true, "sliding_window": null, "torch_dtype": "float32",
                 "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 256}}
                """;
        long headerLen = ByteBuffer.wrap(safetensors).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(safetensors, 8, (int) headerLen, StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(safetensors, 8 + (int) headerLen, safetensors.length);
        Fields fields = new Fields(8 + (int) headerLen);
        fields.add(0, 8, true);
        Path seedDir = dir.resolve("seed");
        writeFolder(seedDir, config.getBytes(StandardCharsets.UTF_8), safetensors);
        openModel(seedDir);

        fuzz("safetensors", SAFETENSORS_CASES, (n, r, how) -> {
            byte[] st = safetensors;
            byte[] cfg = config.getBytes(StandardCharsets.UTF_8);
            int what = r.nextInt(20);
            boolean both = r.nextInt(7) == 0;
            if (what < 9 || both) {
                how.append("safetensors bytes: ");
                st = new Mutator(safetensors, fields, r, how).mutate();
            } else if (what < 15) {
                how.append("safetensors header: ");
                String h = mutateJson(header, r, how);
                boolean keepLength = r.nextInt(10) == 0;
                if (keepLength) how.append("old length kept; ");
                byte[] hb = h.getBytes(StandardCharsets.UTF_8);
                st = ByteBuffer.allocate(8 + hb.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(keepLength ? headerLen : hb.length).put(hb).put(data).array();
            }
            if (what >= 15 || both) {
                how.append("config.json: ");
                cfg = r.nextInt(3) == 0 ? new Mutator(cfg, new Fields(cfg.length), r, how).mutate()
                        : mutateJson(config, r, how).getBytes(StandardCharsets.UTF_8);
            }
            Path p = dir.resolve("case-" + n);
            writeFolder(p, cfg, st);
            return p;
        }, FormatFuzzTest::openModel);
    }

    @Test
    void llama2cCheckpoint(@TempDir Path dir) throws IOException {
        byte[] seed = Files.readAllBytes(TestData.bundledModel());
        Fields fields = new Fields(Llama2c.HEADER_BYTES);
        for (int i = 0; i < 7; i++) fields.add(4 * i, 4, true);
        fuzz("llama2c", LLAMA2C_CASES, (n, r, how) -> {
            Path p = dir.resolve("case-" + n + ".bin");
            Files.write(p, new Mutator(seed, fields, r, how).mutate());
            return p;
        }, FormatFuzzTest::openModel);
    }

    @Test
    void llama2cTokenizer(@TempDir Path dir) throws IOException {
        byte[] seed = Files.readAllBytes(TestData.root().resolve("models/tok512.bin"));
        Fields fields = new Fields(seed.length);
        fields.add(0, 4, true);
        ByteBuffer in = ByteBuffer.wrap(seed).order(ByteOrder.LITTLE_ENDIAN).position(4);
        while (in.remaining() >= 8) {
            fields.add(in.position(), 4, false);
            fields.add(in.position() + 4, 4, true);
            in.position(in.position() + 8 + in.getInt(in.position() + 4));
        }
        Tokenizers.load(writeSeed(dir.resolve("seed.bin"), seed));
        fuzz("tokenizer.bin", TOKENIZER_BIN_CASES, (n, r, how) -> {
            Path p = dir.resolve("case-" + n + ".bin");
            Files.write(p, new Mutator(seed, fields, r, how).mutate());
            return p;
        }, Tokenizers::load);
    }

    @Test
    void vocabGguf(@TempDir Path dir) throws IOException {
        Path vocab = TestData.shared("vocab/ggml-vocab-llama-spm.gguf");
        byte[] seed = Files.readAllBytes(vocab);
        Fields fields = ggufFields(seed);
        Map<String, GgufValue> md;
        try (ModelFile f = GgufVocab.open(vocab)) {
            md = new LinkedHashMap<>(f.metadata());
        }
        Tokenizers.load(vocab);
        fuzz("vocab-gguf", VOCAB_GGUF_CASES, (n, r, how) -> {
            Path p = dir.resolve("case-" + n + ".gguf");
            if (r.nextInt(3) == 0) {
                GgufWriter.write(p, mutateMetadata(md, r, how, "tokenizer.", Set.of()), List.of());
            } else {
                Files.write(p, new Mutator(seed, fields, r, how).mutate());
            }
            return p;
        }, Tokenizers::load);
    }

    /**
     * Counts and sizes that only go wrong past 2 GiB, on sparse files (no disk is written): a GGUF array count
     * above Integer.MAX_VALUE that still fits the file, and a multi-gigabyte file given as a tokenizer.
     */
    @Test
    void hugeSparseFiles(@TempDir Path dir) throws IOException {
        Assumptions.assumeFalse(System.getProperty("os.name").startsWith("Windows"), "needs sparse files");
        long big = (1L << 31) + 64;
        ByteBuffer gguf = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(Gguf.MAGIC).putInt(3).putLong(0).putLong(1)
                .putLong(3).put("big".getBytes(StandardCharsets.US_ASCII))
                .putInt(GgufValue.Type.ARRAY.ordinal()).putInt(GgufValue.Type.UINT8.ordinal()).putLong(big - 64);
        byte[] llama2c = Arrays.copyOf(Files.readAllBytes(TestData.bundledModel()), Llama2c.HEADER_BYTES);
        byte[] tokenizer = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(16).putFloat(0f).putInt(1).array();
        Map<String, String> failures = new LinkedHashMap<>();
        record Sparse(String name, byte[] head, Opener opener) {}
        for (Sparse c : List.of(
                new Sparse("array.gguf", gguf.array(), FormatFuzzTest::openModel),
                new Sparse("vocab.gguf", gguf.array(), Tokenizers::load),
                new Sparse("model.bin", llama2c, FormatFuzzTest::openModel),
                new Sparse("model-as-tokenizer.bin", llama2c, Tokenizers::load),
                new Sparse("tokenizer.bin", tokenizer, Tokenizers::load))) {
            Path p = dir.resolve(c.name());
            Files.write(p, c.head());
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
                f.setLength(big);
            }
            Throwable bad = assertTimeoutPreemptively(BATCH_LIMIT, () -> violation(p, c.opener(), new int[2]));
            Files.delete(p);
            if (bad != null) failures.put(c.name(), bad + where(bad));
        }
        if (!failures.isEmpty()) {
            StringBuilder sb = new StringBuilder("opening a 2 GiB sparse file threw something other than a LongbowException naming it:\n");
            failures.forEach((name, what) -> sb.append("  ").append(name).append(": ").append(what).append('\n'));
            fail(sb.toString());
        }
    }

    // ---- what opening means ----

    private static void openModel(Path path) {
        try (ModelFile f = ModelLoader.open(path)) {
            ModelWeights.bind(f.config(), f.tensors(), path.toString());
        }
    }

    // ---- the harness ----

    @FunctionalInterface
    private interface CaseMaker {
        /** Writes case {@code n} (a file or folder) and returns its path, describing the mutations in {@code how}. */
        Path make(int n, Random r, StringBuilder how) throws IOException;
    }

    @FunctionalInterface
    private interface Opener {
        void open(Path path);
    }

    private static long caseSeed(String kind, int n) {
        return SEED * 31 + kind.hashCode() * 1_000_003L + n;
    }

    private static void fuzz(String kind, int cases, CaseMaker maker, Opener opener) {
        String only = System.getProperty("longbow.fuzz.case");
        Map<String, String> failures = new LinkedHashMap<>(); // signature -> first case that showed it
        Map<String, Integer> repeats = new LinkedHashMap<>();
        int[] outcome = new int[3]; // opened, rejected, run
        long t0 = System.nanoTime();
        for (int from = 0; from < cases; from += BATCH) {
            int start = from, end = Math.min(cases, from + BATCH);
            assertTimeoutPreemptively(BATCH_LIMIT, () -> {
                for (int n = start; n < end; n++) {
                    if (only != null && !only.equals(kind + ":" + n)) continue;
                    outcome[2]++;
                    StringBuilder how = new StringBuilder();
                    Path p = maker.make(n, new Random(caseSeed(kind, n)), how);
                    Throwable bad;
                    try {
                        bad = violation(p, opener, outcome);
                    } finally {
                        deleteRecursively(p);
                    }
                    if (bad != null) {
                        String sig = signature(bad);
                        repeats.merge(sig, 1, Integer::sum);
                        if (!failures.containsKey(sig)) {
                            failures.put(sig, kind + " case " + n + " (-Dlongbow.fuzz.case=" + kind + ":" + n + "), mutations: "
                                    + how + "\n    " + bad + where(bad));
                        }
                    }
                }
            }, () -> kind + ": cases " + start + ".." + (end - 1) + " did not finish within " + BATCH_LIMIT + " (a hang?)");
        }
        System.out.printf("FormatFuzzTest %s: %d cases in %d ms, %d opened, %d rejected with LongbowException, %d distinct failures%n",
                kind, outcome[2], (System.nanoTime() - t0) / 1_000_000, outcome[0], outcome[1], failures.size());
        if (!failures.isEmpty()) {
            StringBuilder sb = new StringBuilder(kind + ": opening a mutated file threw something other than a LongbowException naming it:\n");
            failures.forEach((sig, first) -> sb.append("  [").append(repeats.get(sig)).append("x] ").append(first).append('\n'));
            fail(sb.toString());
        }
    }

    /** Opens {@code p}; null when that succeeded or failed with a LongbowException naming it, else what went wrong. */
    private static Throwable violation(Path p, Opener opener, int[] outcome) {
        try {
            opener.open(p);
            outcome[0]++;
            return null;
        } catch (LongbowException e) {
            outcome[1]++;
            return e.getMessage() != null && e.getMessage().contains(p.toString()) ? null
                    : new AssertionError("LongbowException does not name the file: " + e.getMessage(), e);
        } catch (Throwable t) {
            return t;
        }
    }

    /** The exception's class and the first Longbow frame outside the tests: one line per distinct bug. */
    private static String signature(Throwable t) {
        Throwable origin = t instanceof AssertionError && t.getCause() != null ? t.getCause() : t;
        for (StackTraceElement e : origin.getStackTrace()) {
            if (e.getClassName().startsWith("dev.longbow.") && !e.getClassName().startsWith(FormatFuzzTest.class.getName())) {
                return t.getClass().getName() + " @ " + e;
            }
        }
        return t.getClass().getName() + " @ ?";
    }

    private static String where(Throwable t) {
        StringBuilder sb = new StringBuilder();
        int shown = 0;
        Throwable origin = t instanceof AssertionError && t.getCause() != null ? t.getCause() : t;
        for (StackTraceElement e : origin.getStackTrace()) {
            if (shown == 6) break;
            if (e.getClassName().startsWith("dev.longbow.") || shown == 0) {
                sb.append("\n      at ").append(e);
                shown++;
            }
        }
        return sb.toString();
    }

    private static Path writeSeed(Path p, byte[] bytes) throws IOException {
        Files.write(p, bytes);
        return p;
    }

    private static void writeFolder(Path dir, byte[] config, byte[] safetensors) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("config.json"), config);
        Files.write(dir.resolve("model.safetensors"), safetensors);
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    // ---- byte-level mutation ----

    /** The numeric fields of a seed's header (offset, width, and whether it is a length/count/type rather than a value). */
    private static final class Fields {
        final int headerEnd;
        final List<int[]> structural = new ArrayList<>();
        final List<int[]> values = new ArrayList<>();

        Fields(int headerEnd) {
            this.headerEnd = headerEnd;
        }

        void add(int offset, int width, boolean isStructural) {
            (isStructural ? structural : values).add(new int[]{offset, width});
        }
    }

    private static final class Mutator {
        private final Fields fields;
        private final Random r;
        private final StringBuilder how;
        private byte[] b;

        Mutator(byte[] seed, Fields fields, Random r, StringBuilder how) {
            this.b = seed.clone();
            this.fields = fields;
            this.r = r;
            this.how = how;
        }

        byte[] mutate() {
            int ops = r.nextInt(4) == 0 ? 2 + r.nextInt(3) : 1;
            for (int i = 0; i < ops; i++) {
                int op = r.nextInt(100);
                if (op < 20) flipBits();
                else if (op < 32) setByte();
                else if (op < 70) overwriteField();
                else if (op < 84) truncate();
                else if (op < 92) insert();
                else delete();
            }
            return b;
        }

        /** A position, four times in five inside the header. */
        private int pos() {
            if (b.length == 0) return 0;
            int hot = Math.min(fields.headerEnd, b.length);
            return hot > 0 && r.nextInt(5) != 0 ? r.nextInt(hot) : r.nextInt(b.length);
        }

        private void flipBits() {
            if (b.length == 0) return;
            int n = 1 + r.nextInt(4);
            for (int i = 0; i < n; i++) {
                int p = pos(), bit = r.nextInt(8);
                b[p] ^= (byte) (1 << bit);
                how.append("flip bit ").append(bit).append(" @").append(p).append("; ");
            }
        }

        private void setByte() {
            if (b.length == 0) return;
            int p = pos(), v = BYTE_VALUES[r.nextInt(BYTE_VALUES.length)];
            b[p] = (byte) v;
            how.append(String.format("byte @%d = 0x%02X; ", p, v));
        }

        private void overwriteField() {
            int offset, width;
            int pick = r.nextInt(10);
            if (pick < 6 && !fields.structural.isEmpty()) {
                int[] f = fields.structural.get(r.nextInt(fields.structural.size()));
                offset = f[0];
                width = f[1];
            } else if (pick < 8 && !fields.values.isEmpty()) {
                int[] f = fields.values.get(r.nextInt(fields.values.size()));
                offset = f[0];
                width = f[1];
            } else {
                width = r.nextBoolean() ? 4 : 8;
                int hot = Math.max(1, Math.min(fields.headerEnd, b.length) / width);
                offset = r.nextInt(hot) * width;
            }
            if (offset + width > b.length) return;
            long old = read(offset, width), v;
            int kind = r.nextInt(10);
            if (kind < 6) v = INTERESTING[r.nextInt(INTERESTING.length)];
            else if (kind < 9) v = switch (r.nextInt(6)) { // near the real value, so later checks are reached
                case 0 -> old + 1;
                case 1 -> old - 1;
                case 2 -> old * 2;
                case 3 -> old / 2;
                case 4 -> -old;
                default -> old + r.nextInt(64) - 32;
            };
            else v = r.nextLong();
            for (int i = 0; i < width; i++) b[offset + i] = (byte) (v >>> (8 * i));
            how.append("field @").append(offset).append('/').append(width).append(" ").append(old).append(" -> ")
                    .append(read(offset, width)).append("; ");
        }

        private long read(int offset, int width) {
            long v = 0;
            for (int i = 0; i < width; i++) v |= (b[offset + i] & 0xFFL) << (8 * i);
            return width == 8 ? v : width == 4 ? (int) v : v;
        }

        private void truncate() {
            int k = r.nextInt(10), len;
            if (k < 3) len = r.nextInt(33);
            else if (k < 7) len = r.nextInt(Math.min(fields.headerEnd, b.length) + 1);
            else len = r.nextInt(b.length + 1);
            len = Math.min(len, b.length);
            b = Arrays.copyOf(b, len);
            how.append("truncate to ").append(len).append("; ");
        }

        private void insert() {
            int p = b.length == 0 ? 0 : pos(), n = 1 + r.nextInt(8);
            byte[] ins = new byte[n];
            if (r.nextBoolean()) r.nextBytes(ins);
            byte[] out = new byte[b.length + n];
            System.arraycopy(b, 0, out, 0, p);
            System.arraycopy(ins, 0, out, p, n);
            System.arraycopy(b, p, out, p + n, b.length - p);
            b = out;
            how.append("insert ").append(n).append(" bytes @").append(p).append("; ");
        }

        private void delete() {
            if (b.length == 0) return;
            int p = pos(), n = Math.min(1 + r.nextInt(8), b.length - p);
            byte[] out = new byte[b.length - n];
            System.arraycopy(b, 0, out, 0, p);
            System.arraycopy(b, p + n, out, p, b.length - p - n);
            b = out;
            how.append("delete ").append(n).append(" bytes @").append(p).append("; ");
        }
    }

    // ---- GGUF: the seed's metadata and a map of its header's fields ----

    private static Map<String, GgufValue> llamaMetadata(ModelConfig c) {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("general.architecture", GgufValue.string("llama"));
        md.put("general.name", GgufValue.string("stories260K"));
        md.put("general.alignment", GgufValue.u32(32));
        md.put("llama.context_length", GgufValue.u32(c.contextLength()));
        md.put("llama.embedding_length", GgufValue.u32(c.dim()));
        md.put("llama.block_count", GgufValue.u32(c.layers()));
        md.put("llama.feed_forward_length", GgufValue.u32(c.hiddenDim()));
        md.put("llama.attention.head_count", GgufValue.u32(c.heads()));
        md.put("llama.attention.head_count_kv", GgufValue.u32(c.kvHeads()));
        md.put("llama.attention.layer_norm_rms_epsilon", GgufValue.f32(c.normEps()));
        md.put("llama.rope.freq_base", GgufValue.f32(c.ropeTheta()));
        md.put("llama.rope.scaling.type", GgufValue.string("linear"));
        md.put("llama.rope.scaling.factor", GgufValue.f32(1f));
        md.put("general.tags", GgufValue.array(GgufValue.Type.STRING, List.of("fuzz", "tiny", "llama2.c")));
        md.put("general.nested", GgufValue.array(GgufValue.Type.ARRAY, List.of(
                GgufValue.array(GgufValue.Type.INT32, List.of(1, 2, 3)),
                GgufValue.array(GgufValue.Type.STRING, List.of("x", "")),
                GgufValue.array(GgufValue.Type.ARRAY, List.of(GgufValue.array(GgufValue.Type.UINT8, List.of(7L)))))));
        md.put("general.flag", GgufValue.bool(true));
        md.put("general.u8", new GgufValue(GgufValue.Type.UINT8, 200L));
        md.put("general.i16", new GgufValue(GgufValue.Type.INT16, -300L));
        md.put("general.u64", new GgufValue(GgufValue.Type.UINT64, 1L << 33));
        md.put("general.f64", new GgufValue(GgufValue.Type.FLOAT64, 0.5));
        return md;
    }

    /** Walks a GGUF header, recording every numeric field, so field overwrites hit counts, lengths and types. */
    private static Fields ggufFields(byte[] file) {
        ByteBuffer in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).position(4);
        List<int[]> structural = new ArrayList<>(), values = new ArrayList<>();
        structural.add(new int[]{4, 4});
        in.getInt();
        structural.add(new int[]{8, 8});
        long tensors = in.getLong();
        structural.add(new int[]{16, 8});
        long kvs = in.getLong();
        for (long i = 0; i < kvs; i++) {
            skipString(in, structural);
            structural.add(new int[]{in.position(), 4});
            walkValue(in, in.getInt(), structural, values);
        }
        for (long i = 0; i < tensors; i++) {
            skipString(in, structural);
            structural.add(new int[]{in.position(), 4});
            int dims = in.getInt();
            for (int d = 0; d < dims; d++) {
                structural.add(new int[]{in.position(), 8});
                in.getLong();
            }
            structural.add(new int[]{in.position(), 4});
            in.getInt();
            structural.add(new int[]{in.position(), 8});
            in.getLong();
        }
        Fields f = new Fields(in.position());
        f.structural.addAll(structural);
        f.values.addAll(values);
        return f;
    }

    private static void skipString(ByteBuffer in, List<int[]> structural) {
        structural.add(new int[]{in.position(), 8});
        long len = in.getLong();
        in.position(in.position() + (int) len);
    }

    private static void walkValue(ByteBuffer in, int type, List<int[]> structural, List<int[]> values) {
        int width = switch (GgufValue.Type.values()[type]) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32, FLOAT32 -> 4;
            case UINT64, INT64, FLOAT64 -> 8;
            case STRING -> {
                skipString(in, structural);
                yield 0;
            }
            case ARRAY -> {
                structural.add(new int[]{in.position(), 4});
                int elem = in.getInt();
                structural.add(new int[]{in.position(), 8});
                long count = in.getLong();
                for (long i = 0; i < count; i++) walkValue(in, elem, structural, values);
                yield 0;
            }
        };
        if (width > 0) {
            values.add(new int[]{in.position(), width});
            in.position(in.position() + width);
        }
    }

    /**
     * Deletes, renames or retypes one or two metadata entries, three times in four one whose key starts with
     * {@code prefer} (the keys the reader under test interprets); keys in {@code keep} are left alone.
     */
    private static Map<String, GgufValue> mutateMetadata(Map<String, GgufValue> md, Random r, StringBuilder how, String prefer,
                                                         Set<String> keep) {
        Map<String, GgufValue> m = new LinkedHashMap<>(md);
        int ops = 1 + r.nextInt(2);
        for (int i = 0; i < ops; i++) {
            List<String> keys = new ArrayList<>(m.keySet());
            keys.removeAll(keep);
            List<String> preferred = keys.stream().filter(k -> k.startsWith(prefer)).toList();
            if (!preferred.isEmpty() && r.nextInt(4) != 0) keys = preferred;
            String key = keys.get(r.nextInt(keys.size()));
            GgufValue old = m.get(key);
            switch (r.nextInt(4)) {
                case 0 -> {
                    m.remove(key);
                    how.append("metadata: remove ").append(key).append("; ");
                }
                case 1 -> {
                    GgufValue v = m.remove(key);
                    String renamed = key + "x";
                    m.put(renamed, v);
                    how.append("metadata: rename ").append(key).append("; ");
                }
                case 2 -> {
                    GgufValue v = randomValue(r);
                    m.put(key, v);
                    how.append("metadata: ").append(key).append(" = ").append(v.type()).append(' ').append(v.display()).append("; ");
                }
                default -> {
                    // An array of the same length but another element type, or a scalar's neighbour type.
                    GgufValue v;
                    if (old.type() == GgufValue.Type.ARRAY) {
                        int len = old.asArray().items().size();
                        v = sameLengthArray(r, len);
                    } else {
                        v = randomValue(r);
                    }
                    m.put(key, v);
                    how.append("metadata: ").append(key).append(" retyped to ").append(v.type()).append(' ').append(v.display()).append("; ");
                }
            }
        }
        return m;
    }

    private static GgufValue sameLengthArray(Random r, int len) {
        return switch (r.nextInt(6)) {
            case 0 -> GgufValue.array(GgufValue.Type.STRING, java.util.Collections.nCopies(len, "<0x41>"));
            case 1 -> GgufValue.array(GgufValue.Type.BOOL, java.util.Collections.nCopies(len, true));
            case 2 -> GgufValue.array(GgufValue.Type.FLOAT32, java.util.Collections.nCopies(len, -1.5f));
            case 3 -> GgufValue.array(GgufValue.Type.INT64, java.util.Collections.nCopies(len, Long.MIN_VALUE));
            case 4 -> GgufValue.array(GgufValue.Type.ARRAY, java.util.Collections.nCopies(len, GgufValue.array(GgufValue.Type.INT32, List.of(1))));
            default -> GgufValue.array(GgufValue.Type.UINT8, java.util.Collections.nCopies(Math.max(0, len - 1), 255L));
        };
    }

    private static GgufValue randomValue(Random r) {
        return switch (r.nextInt(9)) {
            case 0 -> GgufValue.string(List.of("", "llama", "linear", "qwen2", "gpt2", "\u2581").get(r.nextInt(6)));
            case 1 -> GgufValue.bool(r.nextBoolean());
            case 2 -> GgufValue.i32(new int[]{-1, 0, 1, Integer.MAX_VALUE, Integer.MIN_VALUE, 3}[r.nextInt(6)]);
            case 3 -> new GgufValue(GgufValue.Type.UINT64, INTERESTING[r.nextInt(INTERESTING.length)]);
            case 4 -> GgufValue.f32(new float[]{Float.NaN, -1f, 0f, 1e30f, Float.POSITIVE_INFINITY, 1e-5f}[r.nextInt(6)]);
            case 5 -> GgufValue.array(GgufValue.Type.STRING, List.of("a", "b"));
            case 6 -> GgufValue.array(GgufValue.Type.INT32, List.of());
            case 7 -> new GgufValue(GgufValue.Type.FLOAT64, -0.0);
            default -> new GgufValue(GgufValue.Type.INT8, -5L);
        };
    }

    // ---- JSON mutation ----

    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?");
    private static final String[] NUMBERS = {"-1", "0", "-0", "-9223372036854775808", "9223372036854775807", "99999999999999999999999",
            "1e308", "1e999", "-0.5", "4294967296", "2147483648", "2147483647", "1099511627777", "0.0", "1.5"};
    private static final String[] DTYPES = {"F64", "I8", "BOOL", "", "f32", "F16", "BF16", "Q4_0", "F32 "};

    private static String mutateJson(String json, Random r, StringBuilder how) {
        int ops = r.nextInt(4) == 0 ? 2 : 1;
        for (int i = 0; i < ops; i++) {
            switch (r.nextInt(5)) {
                case 0, 1 -> {
                    List<int[]> spans = spans(NUMBER.matcher(json));
                    if (spans.isEmpty()) break;
                    int[] s = spans.get(r.nextInt(spans.size()));
                    String v = NUMBERS[r.nextInt(NUMBERS.length)];
                    how.append("number @").append(s[0]).append(' ').append(json, s[0], s[1]).append(" -> ").append(v).append("; ");
                    json = json.substring(0, s[0]) + v + json.substring(s[1]);
                }
                case 2 -> {
                    List<Integer> closers = new ArrayList<>();
                    for (int k = 0; k < json.length(); k++) if (json.charAt(k) == '}' || json.charAt(k) == ']') closers.add(k);
                    if (closers.isEmpty()) break;
                    int k = closers.get(r.nextInt(closers.size()));
                    how.append("delete '").append(json.charAt(k)).append("' @").append(k).append("; ");
                    json = json.substring(0, k) + json.substring(k + 1);
                }
                case 3 -> {
                    List<int[]> spans = spans(Pattern.compile("\"(F32|F16|BF16)\"").matcher(json));
                    if (spans.isEmpty()) break;
                    int[] s = spans.get(r.nextInt(spans.size()));
                    String v = DTYPES[r.nextInt(DTYPES.length)];
                    how.append("dtype @").append(s[0]).append(" -> ").append(v).append("; ");
                    json = json.substring(0, s[0]) + "\"" + v + "\"" + json.substring(s[1]);
                }
                default -> {
                    Object root;
                    try {
                        root = Json.parse(json);
                    } catch (LongbowException e) {
                        break; // an earlier mutation broke the syntax; keep that
                    }
                    List<Object[]> slots = new ArrayList<>();
                    collectSlots(root, slots);
                    if (slots.isEmpty()) break;
                    Object[] slot = slots.get(r.nextInt(slots.size()));
                    boolean remove = r.nextInt(4) == 0;
                    Object v = randomJson(r);
                    if (slot[0] instanceof Map<?, ?> m) {
                        @SuppressWarnings("unchecked") Map<Object, Object> mm = (Map<Object, Object>) m;
                        if (remove) mm.remove(slot[1]);
                        else mm.put(slot[1], v);
                    } else {
                        @SuppressWarnings("unchecked") List<Object> l = (List<Object>) slot[0];
                        if (remove) l.remove((int) (Integer) slot[1]);
                        else l.set((Integer) slot[1], v);
                    }
                    how.append(remove ? "remove " : "set ").append(slot[1]).append(remove ? "" : " = " + Json.write(v)).append("; ");
                    json = Json.write(root);
                }
            }
        }
        return json;
    }

    private static List<int[]> spans(Matcher m) {
        List<int[]> out = new ArrayList<>();
        while (m.find()) out.add(new int[]{m.start(), m.end()});
        return out;
    }

    private static void collectSlots(Object node, List<Object[]> slots) {
        if (node instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                slots.add(new Object[]{m, e.getKey()});
                collectSlots(e.getValue(), slots);
            }
        } else if (node instanceof List<?> l) {
            for (int i = 0; i < l.size(); i++) {
                slots.add(new Object[]{l, i});
                collectSlots(l.get(i), slots);
            }
        }
    }

    private static Object randomJson(Random r) {
        return switch (r.nextInt(12)) {
            case 0 -> null;
            case 1 -> Boolean.TRUE;
            case 2 -> "F32";
            case 3 -> "";
            case 4 -> -1L;
            case 5 -> 0L;
            case 6 -> INTERESTING[r.nextInt(INTERESTING.length)];
            case 7 -> 1e300;
            case 8 -> -0.5;
            case 9 -> new ArrayList<>(List.of(1L << 40, 1L << 40));
            case 10 -> new LinkedHashMap<>();
            default -> new ArrayList<>(java.util.Collections.nCopies(9, 1L));
        };
    }
}
