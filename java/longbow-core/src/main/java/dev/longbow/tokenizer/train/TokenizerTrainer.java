package dev.longbow.tokenizer.train;

import dev.longbow.LongbowException;
import dev.longbow.tokenizer.PreTokenizer;
import dev.longbow.tokenizer.ByteLevel;
import dev.longbow.tokenizer.BytePreTokenizers;
import dev.longbow.tokenizer.SpecialTokens;

import java.io.BufferedReader;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Trains a BPE tokenizer on text files: counts words, then learns merges with {@link MergeLearner}.
 *
 * <ul>
 *   <li>{@link Kind#BYTE_BPE}, GPT-2 style: text is split with GPT-2's pattern, each piece is UTF-8 bytes shown in
 *       GPT-2's byte alphabet; the alphabet is all 256 bytes, so any text can be encoded. Ids: the special tokens,
 *       then the 256 byte symbols (by code point, which is GPT-2's order), then merge results.</li>
 *   <li>{@link Kind#BPE}, SentencePiece style as in Llama 2: every input line is a sentence, normalised to
 *       "▁" + line with spaces as "▁", and a word is a "▁" with the characters up to the next one. Ids: {@code <unk>},
 *       {@code <s>}, {@code </s>}, further special tokens, {@code <0x00>}..{@code <0xFF>} (byte fallback), the kept
 *       characters by code point, then merge results. Characters are kept most frequent first until they cover
 *       {@code characterCoverage} of all character occurrences (SentencePiece's rule); the rest are encoded as
 *       bytes and merges never span them. A newline is never part of a line, so it too is encoded as a byte.</li>
 * </ul>
 * Special-token spellings in the text separate words and are not counted. {@code minFrequency} is the least
 * count a pair needs to be merged; training stops early if no pair has it.
 */
public final class TokenizerTrainer {
    /** GPT-2's split pattern; the one place the trainer pre-tokenizes byte-level text. */
    static final String GPT2_PATTERN = BytePreTokenizers.GPT2_PATTERN;

    private static final char WORD_START = '\u2581';
    private static final int CHUNK_CHARS = 1 << 22;
    private static final List<String> LLAMA_SPECIALS = List.of("<unk>", "<s>", "</s>");

    public enum Kind {
        BYTE_BPE("byte-bpe"), BPE("bpe");

        public final String cliName;

        Kind(String cliName) {
            this.cliName = cliName;
        }

        public static Kind parse(String s) {
            for (Kind k : values()) if (k.cliName.equals(s)) return k;
            throw new LongbowException("unknown tokenizer kind '" + s + "' (expected bpe or byte-bpe)");
        }
    }

    /**
     * @param specialTokens for BYTE_BPE all special tokens; for BPE those after {@code <unk> <s> </s>}, which are
     *                      always there
     */
    public record Options(Kind kind, int vocabSize, long minFrequency, List<String> specialTokens, double characterCoverage) {
        public Options {
            specialTokens = List.copyOf(new LinkedHashSet<>(specialTokens));
            for (String s : specialTokens) if (s.isEmpty()) throw new LongbowException("a special token cannot be empty");
            if (minFrequency < 0) throw new LongbowException("min frequency must be at least 0, got " + minFrequency);
            if (!(characterCoverage > 0 && characterCoverage <= 1)) {
                throw new LongbowException("character coverage must be in (0, 1], got " + characterCoverage);
            }
            int fixed = fixedTokens(kind, specialTokens).size();
            if (vocabSize < fixed) {
                throw new LongbowException("vocab size " + vocabSize + " is below the alphabet of " + kind.cliName + ": " + fixed
                        + " tokens (" + (kind == Kind.BYTE_BPE ? "256 bytes" : "256 byte-fallback tokens") + " and "
                        + (fixed - 256) + " special), before any character or merge");
            }
        }

        public static List<String> defaultSpecialTokens(Kind kind) {
            return kind == Kind.BYTE_BPE ? List.of("<|endoftext|>") : List.of();
        }
    }

    /** Counts from reading the corpus, for the summary line. */
    public record Stats(long bytes, long words, int distinctWords, int alphabet, long lastMergeCount, double countSeconds, double mergeSeconds) {}

    private TokenizerTrainer() {}

    /** Tokens every vocabulary of this kind starts with, in id order, before the corpus is read. */
    private static List<String> fixedTokens(Kind kind, List<String> specials) {
        List<String> tokens = new ArrayList<>();
        if (kind == Kind.BYTE_BPE) {
            tokens.addAll(specials);
            char[] symbols = new char[256];
            for (int b = 0; b < 256; b++) symbols[b] = ByteLevel.charOf(b);
            Arrays.sort(symbols);
            for (char c : symbols) tokens.add(String.valueOf(c));
        } else {
            Set<String> all = new LinkedHashSet<>(LLAMA_SPECIALS);
            all.addAll(specials);
            tokens.addAll(all);
            for (int b = 0; b < 256; b++) tokens.add(byteToken(b));
        }
        Set<String> distinct = new LinkedHashSet<>();
        for (String t : tokens) {
            if (!distinct.add(t)) throw new LongbowException("special token '" + t + "' is spelled like a byte token of " + kind.cliName);
        }
        return tokens;
    }

    static String byteToken(int b) {
        return String.format(Locale.ROOT, "<0x%02X>", b);
    }

    /** Trains on {@code inputs} (UTF-8; invalid bytes read as U+FFFD), printing progress to {@code log} if not null. */
    public static TrainedTokenizer train(List<Path> inputs, Options options, PrintStream log) throws IOException {
        return train(inputs, options, log, CHUNK_CHARS);
    }

    /** {@code chunkChars}: how much byte-level text is split at a time; small in tests, to exercise the cuts. */
    static TrainedTokenizer train(List<Path> inputs, Options options, PrintStream log, int chunkChars) throws IOException {
        Progress progress = new Progress(log, inputs);
        List<String> fixed = fixedTokens(options.kind(), options.specialTokens());
        List<String> specials = options.kind() == Kind.BYTE_BPE ? options.specialTokens() : fixed.subList(0, fixed.size() - 256);
        Map<String, Integer> specialIds = new LinkedHashMap<>();
        for (String s : specials) specialIds.put(s, specialIds.size());
        SpecialTokens separators = new SpecialTokens(specialIds);

        WordCounts counts = new WordCounts();
        for (Path input : inputs) {
            if (!Files.isRegularFile(input)) throw new LongbowException(input + ": no such file");
            try (InputStream in = new CountingStream(Files.newInputStream(input), progress)) {
                if (options.kind() == Kind.BYTE_BPE) countByteLevelWords(in, separators, counts, progress, chunkChars);
                else countSentencePieceWords(in, separators, counts, progress);
            }
        }
        progress.reading(counts);
        double countSeconds = progress.seconds();

        Words words = options.kind() == Kind.BYTE_BPE ? byteLevelWords(counts, fixed) : characterWords(counts, fixed, options.characterCoverage());
        if (options.vocabSize() < words.alphabet().size()) {
            throw new LongbowException("vocab size " + options.vocabSize() + " is below the alphabet: " + words.alphabet().size()
                    + " tokens (" + fixed.size() + " special and byte tokens, " + (words.alphabet().size() - fixed.size()) + " characters)");
        }
        Set<String> reserved = new LinkedHashSet<>(fixed);
        if (options.kind() == Kind.BYTE_BPE) reserved.retainAll(specials);
        MergeLearner learner = new MergeLearner(words.alphabet(), reserved, words.symbols(), words.counts());
        MergeLearner.Result result = learner.learn(options.vocabSize(), options.minFrequency(), progress::merges);
        Stats stats = new Stats(progress.bytes, counts.total(), counts.distinct(), words.alphabet().size(), result.lastCount(), countSeconds,
                progress.seconds() - countSeconds);
        return new TrainedTokenizer(options.kind(), result.tokens(), result.merges(), specials.size(), stats);
    }

    // ---- reading ----

    private static final PreTokenizer GPT2_SPLIT = BytePreTokenizers.GPT2;

    /**
     * Reads in chunks cut just after a newline that is followed by a letter or digit: GPT-2's pattern always ends a
     * piece there (no alternative matches a newline together with a following letter), so the pieces are the same
     * as if the whole file were split at once. Only the second half of a chunk is searched, so every chunk moves
     * the reading on by at least half; text with no such place in that half (no line breaks for megabytes) is cut
     * where the chunk ends, which may split one piece in two.
     */
    private static void countByteLevelWords(InputStream in, SpecialTokens separators, WordCounts counts, Progress progress, int chunkChars)
            throws IOException {
        Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8);
        char[] buffer = new char[chunkChars];
        int filled = 0;
        PreTokenizer.Sink count = counts::add;
        while (true) {
            int n = reader.read(buffer, filled, buffer.length - filled);
            if (n > 0) filled += n;
            if (n >= 0 && filled < buffer.length) continue;
            int cut = n < 0 ? filled : chunkEnd(buffer, filled);
            String chunk = new String(buffer, 0, cut);
            if (separators.isEmpty()) {
                GPT2_SPLIT.split(chunk, 0, chunk.length(), count);
            } else {
                separators.split(chunk, new SpecialTokens.Sink() {
                    @Override
                    public void text(String text, int start, int end) {
                        GPT2_SPLIT.split(text, start, end, count);
                    }

                    @Override
                    public void special(int id) {}
                });
            }
            System.arraycopy(buffer, cut, buffer, 0, filled - cut);
            filled -= cut;
            progress.reading(counts);
            if (n < 0) return;
        }
    }

    private static int chunkEnd(char[] buffer, int filled) {
        for (int i = filled - 2; i >= filled / 2; i--) {
            if (buffer[i] == '\n' && Character.isLetterOrDigit(buffer[i + 1])) return i + 1;
        }
        return Character.isHighSurrogate(buffer[filled - 1]) ? filled - 1 : filled;
    }

    private static void countSentencePieceWords(InputStream in, SpecialTokens separators, WordCounts counts, Progress progress) throws IOException {
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        StringBuilder normalized = new StringBuilder();
        SpecialTokens.Sink sink = new SpecialTokens.Sink() {
            @Override
            public void text(String text, int start, int end) {
                countNormalizedWords(text, start, end, normalized, counts);
            }

            @Override
            public void special(int id) {}
        };
        long lines = 0;
        for (String line; (line = reader.readLine()) != null; ) {
            if (line.isEmpty()) continue;
            if (separators.isEmpty()) countNormalizedWords(line, 0, line.length(), normalized, counts);
            else separators.split(line, sink);
            if ((++lines & 0xfff) == 0) progress.reading(counts);
        }
    }

    /** Normalises as the written tokenizer.json will (Prepend "▁", spaces to "▁") and counts each "▁"-led word. */
    private static void countNormalizedWords(String text, int start, int end, StringBuilder normalized, WordCounts counts) {
        normalized.setLength(0);
        normalized.append(WORD_START);
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            normalized.append(c == ' ' ? WORD_START : c);
        }
        int wordStart = 0;
        for (int i = 1; i < normalized.length(); i++) {
            if (normalized.charAt(i) == WORD_START) {
                counts.add(normalized, wordStart, i);
                wordStart = i;
            }
        }
        counts.add(normalized, wordStart, normalized.length());
    }

    // ---- words as symbol ids ----

    private record Words(List<String> alphabet, int[][] symbols, long[] counts) {}

    /** A word of one symbol has no pair to merge and is left out. */
    private static Words byteLevelWords(WordCounts counts, List<String> fixed) {
        int[] idOfByte = new int[256];
        for (int b = 0; b < 256; b++) idOfByte[b] = fixed.indexOf(String.valueOf(ByteLevel.charOf(b)));
        List<int[]> symbols = new ArrayList<>();
        LongList wordCounts = new LongList();
        counts.forEach((word, count) -> {
            byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
            if (bytes.length < 2) return;
            int[] s = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) s[i] = idOfByte[bytes[i] & 0xff];
            symbols.add(s);
            wordCounts.add(count);
        });
        return new Words(fixed, symbols.toArray(new int[0][]), wordCounts.toArray());
    }

    private static Words characterWords(WordCounts counts, List<String> fixed, double coverage) {
        long[] frequency = new long[Character.MAX_CODE_POINT + 1];
        counts.forEach((word, count) -> {
            for (int i = 0; i < word.length(); ) {
                int cp = word.codePointAt(i);
                frequency[cp] += count;
                i += Character.charCount(cp);
            }
        });
        List<Integer> seen = new ArrayList<>();
        long all = 0;
        for (int cp = 0; cp < frequency.length; cp++) {
            if (frequency[cp] > 0) {
                seen.add(cp);
                all += frequency[cp];
            }
        }
        seen.sort((a, b) -> frequency[a] != frequency[b] ? Long.compare(frequency[b], frequency[a]) : Integer.compare(a, b));
        boolean[] kept = new boolean[frequency.length];
        long covered = 0;
        for (int cp : seen) {
            if (coverage < 1 && (double) covered / all >= coverage) break;
            covered += frequency[cp];
            kept[cp] = true;
        }
        kept[WORD_START] = true;

        List<String> alphabet = new ArrayList<>(fixed);
        Set<String> taken = new LinkedHashSet<>(fixed);
        int[] idOf = new int[frequency.length];
        Arrays.fill(idOf, -1);
        for (int cp = 0; cp < frequency.length; cp++) {
            if (!kept[cp]) continue;
            String s = Character.toString(cp);
            if (!taken.add(s)) continue; // spelled like a special token: that token's id wins, the character is bytes
            idOf[cp] = alphabet.size();
            alphabet.add(s);
        }

        List<int[]> symbols = new ArrayList<>();
        LongList wordCounts = new LongList();
        int[] buffer = new int[64];
        counts.forEach((word, count) -> {
            int[] s = word.length() <= buffer.length ? buffer : new int[word.length()];
            int n = 0;
            for (int i = 0; i <= word.length(); ) {
                int cp = i < word.length() ? word.codePointAt(i) : -1;
                int id = cp < 0 ? -1 : idOf[cp];
                if (id >= 0) {
                    s[n++] = id;
                } else {
                    // a dropped character (or the end) ends a run of symbols that merges may join
                    if (n >= 2) {
                        symbols.add(Arrays.copyOf(s, n));
                        wordCounts.add(count);
                    }
                    n = 0;
                }
                i += cp < 0 ? 1 : Character.charCount(cp);
            }
        });
        return new Words(alphabet, symbols.toArray(new int[0][]), wordCounts.toArray());
    }

    private static final class LongList {
        private long[] values = new long[1024];
        private int size;

        void add(long v) {
            if (size == values.length) values = Arrays.copyOf(values, size * 2);
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    // ---- progress ----

    private static final class CountingStream extends FilterInputStream {
        private final Progress progress;

        CountingStream(InputStream in, Progress progress) {
            super(in);
            this.progress = progress;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) progress.bytes++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) progress.bytes += n;
            return n;
        }
    }

    /** A line on the log every few seconds, so a long run shows it is moving and how far it has got. */
    private static final class Progress {
        private static final long EVERY_NANOS = 3_000_000_000L;
        private final PrintStream log;
        private final long start = System.nanoTime();
        private final long totalBytes;
        private long lastLine = start;
        long bytes;

        Progress(PrintStream log, List<Path> inputs) {
            this.log = log;
            long total = 0;
            for (Path p : inputs) {
                try {
                    total += Files.size(p);
                } catch (IOException e) {
                    // missing files are reported when they are opened
                }
            }
            this.totalBytes = total;
        }

        void reading(WordCounts counts) {
            if (!due()) return;
            log.printf(Locale.ROOT, "train-tokenizer: read %.1f/%.1f MB, %,d words (%,d distinct), %.1f s%n",
                    bytes / 1e6, totalBytes / 1e6, counts.total(), counts.distinct(), seconds());
        }

        void merges(int done, int target) {
            if (!due()) return;
            log.printf(Locale.ROOT, "train-tokenizer: %,d/%,d merges, %.1f s%n", done, target, seconds());
        }

        private boolean due() {
            if (log == null) return false;
            long now = System.nanoTime();
            if (now - lastLine < EVERY_NANOS) return false;
            lastLine = now;
            return true;
        }

        private double seconds() {
            return (System.nanoTime() - start) / 1e9;
        }
    }
}
