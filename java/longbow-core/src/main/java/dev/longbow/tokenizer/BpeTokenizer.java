package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * BPE with ranked merges, as Hugging Face tokenizers' BPE model runs it: added tokens are split out of the text,
 * each remaining stretch is normalised and pre-tokenized into pieces, and within each piece the adjacent pair with
 * the lowest merge rank is merged (leftmost on ties) until no pair has a merge. Two flavours decide what the merges
 * start from: byte-level (GPT-2, Llama 3, Qwen2: the piece's UTF-8 bytes, tokens spelled in GPT-2's byte alphabet)
 * and SentencePiece-style (Llama 2 / Mistral tokenizer.json: characters, with {@code <0xNN>} byte tokens or the unknown
 * token for characters missing from the vocabulary).
 *
 * <p>Merging uses a heap over a linked list of symbols, so a piece of n symbols costs O(n log n) however long it is.
 * Results for short pieces are remembered in a small lock-free cache.
 */
public final class BpeTokenizer implements Tokenizer {
    /** Token spellings that end a turn or a text when generated, besides EOS (llama.cpp recognises the same ones). */
    private static final Set<String> END_OF_TEXT_NAMES = Set.of("<|eot_id|>", "<|im_end|>", "<|endoftext|>", "<|end_of_text|>",
            "<|end|>", "<end_of_turn>", "<|eom_id|>", "<EOT>", "</s>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>");
    private static final int CACHE_SLOTS = 1 << 16, CACHE_MAX_BYTES = 32;

    private final BpeSpec spec;
    private final boolean standardPipeline; // the pipeline is exactly what the spec's flavour implies (so it can be written)
    private final boolean byteLevel;
    private final String[] tokens;           // by id: added token content, else the vocabulary spelling; "" for gaps
    private final ByteStringIndex index;     // the bytes a vocabulary token stands for -> id
    private final int[] byteTokens = new int[256]; // byte-level: one-byte token per byte; SentencePiece: <0xNN> tokens
    private final MergeTable merges;
    private final boolean ignoreMerges, byteFallback, fuseUnk;
    private final int unk, bos, eos;
    private final TextSteps.Normalizer normalizer; // null: none
    private final TextSteps.Step preTokenizer;     // null: a stretch of text is one piece
    private final BpeDecoding decoding;
    private final SpecialTokens ordinaryAdded, allAdded;
    private final Map<Integer, BpeSpec.AddedToken> addedById = new HashMap<>();
    private final boolean anyStrip;
    private final boolean[] endOfText;
    private final CacheEntry[] cache = new CacheEntry[CACHE_SLOTS];

    private record CacheEntry(byte[] key, int[] ids) {}

    /** The standard pipeline of the spec's flavour. */
    public static BpeTokenizer of(BpeSpec spec) {
        return of(spec, "BPE tokenizer");
    }

    static BpeTokenizer of(BpeSpec spec, String source) {
        if (spec.flavour() == BpeSpec.Flavour.BYTE_LEVEL) {
            if (spec.splitPatterns().isEmpty()) throw new LongbowException(source + ": a byte-level BPE tokenizer needs a split pattern");
            List<TextSteps.Step> steps = new ArrayList<>();
            for (String p : spec.splitPatterns()) steps.add(TextSteps.isolated(SplitPatterns.splitter(p)));
            TextSteps.Step pre = steps.size() == 1 ? steps.getFirst() : TextSteps.steps(steps);
            TextSteps.Normalizer nfc = spec.nfc() ? TextSteps.unicode(java.text.Normalizer.Form.NFC) : null;
            return new BpeTokenizer(spec, nfc, pre, BpeDecoding.BYTE_LEVEL, false, false, true, source);
        }
        TextSteps.Normalizer spm = TextSteps.normalizers(List.of(TextSteps.prepend("\u2581"), TextSteps.replaceLiteral(" ", "\u2581")));
        return new BpeTokenizer(spec, spm, null, BpeDecoding.SENTENCEPIECE, true, true, true, source);
    }

    BpeTokenizer(BpeSpec spec, TextSteps.Normalizer normalizer, TextSteps.Step preTokenizer, BpeDecoding decoding,
                 boolean byteFallback, boolean fuseUnk, boolean standardPipeline, String source) {
        this.spec = spec;
        this.standardPipeline = standardPipeline;
        this.byteLevel = spec.flavour() == BpeSpec.Flavour.BYTE_LEVEL;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoding = decoding;
        this.ignoreMerges = spec.ignoreMerges();
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        List<String> vocab = spec.vocab();
        int size = vocab.size();
        for (BpeSpec.AddedToken a : spec.addedTokens()) {
            if (a.id() < 0) throw new LongbowException(source + ": added token '" + a.content() + "' has negative id " + a.id());
            if (a.content().isEmpty()) throw new LongbowException(source + ": added token " + a.id() + " is empty");
            size = Math.max(size, a.id() + 1);
        }
        tokens = new String[size];
        Map<String, Integer> ids = new HashMap<>(vocab.size() * 2);
        byte[][] raw = new byte[size][];
        for (int id = 0; id < vocab.size(); id++) {
            String t = vocab.get(id);
            if (t == null) throw new LongbowException(source + ": vocabulary has no token " + id);
            tokens[id] = t;
            ids.putIfAbsent(t, id);
            raw[id] = byteLevel ? ByteLevel.fromByteLevelOrNull(t) : t.getBytes(StandardCharsets.UTF_8);
        }
        index = new ByteStringIndex(raw);
        Map<String, Integer> ordinary = new HashMap<>(), all = new HashMap<>();
        boolean strip = false;
        for (BpeSpec.AddedToken a : spec.addedTokens()) {
            tokens[a.id()] = a.content();
            addedById.put(a.id(), a);
            all.put(a.content(), a.id());
            if (!a.special()) ordinary.put(a.content(), a.id());
            strip |= a.lstrip() || a.rstrip();
        }
        for (int i = 0; i < size; i++) if (tokens[i] == null) tokens[i] = "";
        anyStrip = strip;
        ordinaryAdded = new SpecialTokens(ordinary);
        allAdded = new SpecialTokens(all);

        java.util.Arrays.fill(byteTokens, -1);
        for (int b = 0; b < 256; b++) {
            if (byteLevel) {
                byteTokens[b] = index.find(new byte[]{(byte) b}, 0, 1);
            } else {
                Integer id = ids.get(String.format("<0x%02X>", b));
                if (id != null) byteTokens[b] = id;
            }
        }
        List<BpeSpec.Merge> ml = spec.merges();
        int[] left = new int[ml.size()], right = new int[ml.size()], merged = new int[ml.size()];
        for (int i = 0; i < ml.size(); i++) {
            BpeSpec.Merge m = ml.get(i);
            Integer l = ids.get(m.left()), r = ids.get(m.right()), lr = ids.get(m.left() + m.right());
            if (l == null || r == null || lr == null) {
                String missing = l == null ? m.left() : r == null ? m.right() : m.left() + m.right();
                throw new LongbowException(source + ": merge " + (i + 1) + " '" + m.left() + " " + m.right() + "' needs '" + missing + "', which is not in the vocabulary");
            }
            left[i] = l;
            right[i] = r;
            merged[i] = lr;
        }
        merges = new MergeTable(left, right, merged);
        // Hugging Face only complains about an unknown token missing from the vocabulary once it is needed; do without.
        unk = spec.unkToken() == null ? -1 : ids.getOrDefault(spec.unkToken(), -1);
        bos = checkId(spec.bos(), size, source, "BOS");
        eos = checkId(spec.eos(), size, source, "EOS");
        endOfText = new boolean[size];
        if (eos >= 0) endOfText[eos] = true;
        for (int i = 0; i < size; i++) {
            if (addedById.containsKey(i) && END_OF_TEXT_NAMES.contains(tokens[i])) endOfText[i] = true;
        }
    }

    private static int checkId(int id, int size, String source, String what) {
        if (id < -1 || id >= size) throw new LongbowException(source + ": " + what + " id " + id + " is outside the vocabulary of " + size);
        return id;
    }

    /** The data this tokenizer was built from; only for tokenizers whose pipeline is the standard one of their flavour. */
    public BpeSpec spec() {
        if (!standardPipeline) throw new LongbowException("this tokenizer's normaliser, pre-tokenizer or decoder is not the standard one of its flavour, so it cannot be written as a BpeSpec");
        return spec;
    }

    /** llama.cpp's {@code tokenizer.ggml.pre} name for this tokenizer's split, or null when llama.cpp has none. */
    public String llamaCppPreTokenizer() {
        if (!standardPipeline || !byteLevel) return null;
        return SplitPatterns.llamaCppName(spec.splitPatterns(), ignoreMerges);
    }

    public boolean isByteLevel() {
        return byteLevel;
    }

    /** Whether {@code id} is an added token marked special (control), as opposed to vocabulary or ordinary added tokens. */
    public boolean isSpecial(int id) {
        BpeSpec.AddedToken a = addedById.get(id);
        return a != null && a.special();
    }

    /** Whether {@code id} is an added token that is not special (llama.cpp's "user-defined"). */
    public boolean isOrdinaryAdded(int id) {
        BpeSpec.AddedToken a = addedById.get(id);
        return a != null && !a.special();
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public String piece(int id) {
        return tokens[id];
    }

    /** Also ends text; loaders call this while building, before the tokenizer is shared. */
    void markEndOfText(int id) {
        endOfText[id] = true;
    }

    @Override
    public boolean isEndOfText(int id) {
        return id >= 0 && id < endOfText.length && endOfText[id];
    }

    // ---- encoding ----

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        text = withoutLoneSurrogates(text);
        Work w = new Work();
        if (addBos && bos >= 0) w.emit(bos);
        SpecialTokens added = parseSpecial ? allAdded : ordinaryAdded;
        if (added.isEmpty()) {
            encodeText(text, 0, text.length(), w);
        } else if (!anyStrip) {
            String t = text;
            added.split(text, new SpecialTokens.Sink() {
                public void text(String s, int start, int end) {
                    encodeText(t, start, end, w);
                }

                public void special(int id) {
                    w.emit(id);
                }
            });
        } else {
            encodeStripping(text, added, w);
        }
        return java.util.Arrays.copyOf(w.out, w.outLen);
    }

    /** Added tokens with lstrip/rstrip take the whitespace beside them, as Hugging Face's AddedToken options say. */
    private void encodeStripping(String text, SpecialTokens added, Work w) {
        List<int[]> parts = new ArrayList<>(); // {start, end} for text, {-1, id} for a token
        added.split(text, new SpecialTokens.Sink() {
            public void text(String s, int start, int end) {
                parts.add(new int[]{start, end});
            }

            public void special(int id) {
                parts.add(new int[]{-1, id});
            }
        });
        for (int i = 0; i < parts.size(); i++) {
            int[] p = parts.get(i);
            if (p[0] != -1) continue;
            BpeSpec.AddedToken a = addedById.get(p[1]);
            if (a.lstrip() && i > 0 && parts.get(i - 1)[0] != -1) {
                int[] prev = parts.get(i - 1);
                while (prev[1] > prev[0] && isWhitespace(text.charAt(prev[1] - 1))) prev[1]--;
            }
            if (a.rstrip() && i + 1 < parts.size() && parts.get(i + 1)[0] != -1) {
                int[] next = parts.get(i + 1);
                while (next[0] < next[1] && isWhitespace(text.charAt(next[0]))) next[0]++;
            }
        }
        for (int[] p : parts) {
            if (p[0] == -1) w.emit(p[1]);
            else if (p[1] > p[0]) encodeText(text, p[0], p[1], w);
        }
    }

    /** Rust's char::is_whitespace (Unicode White_Space), which Java's Character.isWhitespace is not. */
    private static boolean isWhitespace(char c) {
        return switch (c) {
            case ' ', '\t', '\n', '\u000B', '\f', '\r', '\u0085', '\u00A0', '\u1680', '\u2028', '\u2029', '\u202F', '\u205F', '\u3000' -> true;
            default -> c >= '\u2000' && c <= '\u200A';
        };
    }

    private void encodeText(String text, int start, int end, Work w) {
        boolean atStart = start == 0;
        CharSequence t = text;
        if (normalizer != null || start != 0 || end != text.length()) {
            // A stretch between added tokens is a text of its own: a split pattern's look-ahead must not see past it.
            String part = text.substring(start, end);
            t = normalizer != null ? normalizer.apply(part) : part;
            start = 0;
            end = t.length();
        }
        if (start == end) return;
        if (preTokenizer == null) encodePiece(t, start, end, w);
        else preTokenizer.split(t, start, end, atStart, w.sink);
    }

    private void encodePiece(CharSequence t, int start, int end, Work w) {
        int len = w.utf8(t, start, end);
        byte[] b = w.bytes;
        if (ignoreMerges) {
            int id = index.find(b, 0, len);
            if (id >= 0) {
                w.emit(id);
                return;
            }
        }
        int slot = -1;
        if (len <= CACHE_MAX_BYTES) {
            slot = ByteStringIndex.hash(b, 0, len) & (CACHE_SLOTS - 1);
            CacheEntry e = cache[slot];
            if (e != null && e.key.length == len && java.util.Arrays.equals(e.key, 0, len, b, 0, len)) {
                for (int id : e.ids) w.emit(id);
                return;
            }
        }
        int n = symbols(b, len, w);
        int first = w.outLen;
        if (n == 1) w.emit(w.sym[0]);
        else if (n > 1) merge(w, n);
        if (slot >= 0) cache[slot] = new CacheEntry(java.util.Arrays.copyOf(b, len), java.util.Arrays.copyOfRange(w.out, first, w.outLen));
    }

    /** The symbols merging starts from, in {@code w.sym}; returns their count. */
    private int symbols(byte[] b, int len, Work w) {
        w.ensureSymbols(len);
        int[] sym = w.sym;
        int n = 0;
        boolean pendingUnk = false; // the last symbol is an unknown token that a following one may fuse into
        for (int i = 0; i < len; ) {
            int charLen = byteLevel ? 1 : utf8Length(b, i, len);
            int id = byteLevel ? byteTokens[b[i] & 0xFF] : index.find(b, i, charLen);
            if (id >= 0) {
                sym[n++] = id;
                pendingUnk = false;
            } else if (byteFallback && allBytesHaveTokens(b, i, charLen)) {
                for (int k = 0; k < charLen; k++) sym[n++] = byteTokens[b[i + k] & 0xFF];
                pendingUnk = false;
            } else if (unk >= 0) {
                if (!(fuseUnk && pendingUnk)) sym[n++] = unk;
                pendingUnk = true;
            }
            i += charLen;
        }
        return n;
    }

    private boolean allBytesHaveTokens(byte[] b, int off, int len) {
        for (int k = 0; k < len; k++) if (byteTokens[b[off + k] & 0xFF] < 0) return false;
        return true;
    }

    private static int utf8Length(byte[] b, int i, int len) {
        int c = b[i] & 0xFF;
        int n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return Math.min(n, len - i);
    }

    /** Lowest rank first, leftmost on ties: a heap of (rank, position) over a linked list of symbols. */
    private void merge(Work w, int n) {
        int[] sym = w.sym, next = w.next, prev = w.prev;
        long[] heap = w.heap;
        int size = 0;
        for (int i = 0; i < n; i++) {
            next[i] = i + 1;
            prev[i] = i - 1;
        }
        for (int i = 0; i + 1 < n; i++) {
            long m = merges.find(sym[i], sym[i + 1]);
            if (m != MergeTable.NONE) size = push(heap, size, (m & RANK_BITS) | i);
        }
        while (size > 0) {
            long top = heap[0];
            size = pop(heap, size);
            int pos = (int) top;
            if (sym[pos] < 0) continue;
            int right = next[pos];
            if (right >= n) continue;
            long m = merges.find(sym[pos], sym[right]);
            if (m == MergeTable.NONE || (m & RANK_BITS) != (top & RANK_BITS)) continue; // the pair changed since
            sym[pos] = (int) m;
            sym[right] = -1;
            int after = next[right];
            next[pos] = after;
            if (after < n) prev[after] = pos;
            int before = prev[pos];
            if (before >= 0) {
                long mb = merges.find(sym[before], sym[pos]);
                if (mb != MergeTable.NONE) size = push(heap, size, (mb & RANK_BITS) | before);
            }
            if (after < n) {
                long ma = merges.find(sym[pos], sym[after]);
                if (ma != MergeTable.NONE) size = push(heap, size, (ma & RANK_BITS) | pos);
            }
        }
        for (int i = 0; i < n; i = next[i]) w.emit(sym[i]);
    }

    private static final long RANK_BITS = 0xFFFFFFFF00000000L;

    private static int push(long[] heap, int size, long v) {
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= v) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = v;
        return size;
    }

    private static int pop(long[] heap, int size) {
        long last = heap[--size];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= size) break;
            if (c + 1 < size && heap[c + 1] < heap[c]) c++;
            if (heap[c] >= last) break;
            heap[i] = heap[c];
            i = c;
        }
        if (size > 0) heap[i] = last;
        return size;
    }

    /** Unpaired surrogates become U+FFFD, as Rust's from_utf16_lossy reads them (see {@link Tokenizer#encode}). */
    static String withoutLoneSurrogates(String s) {
        int i = 0, n = s.length();
        while (i < n && !Character.isSurrogate(s.charAt(i))) i++;
        if (i == n) return s;
        StringBuilder sb = new StringBuilder(n).append(s, 0, i);
        for (; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else {
                sb.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return sb.toString();
    }

    /** Per-call scratch space and output, so one tokenizer can serve many threads. */
    private final class Work {
        byte[] bytes = new byte[64];
        int[] sym = new int[64], next = new int[64], prev = new int[64];
        long[] heap = new long[192];
        int[] out = new int[64];
        int outLen;
        final TextSteps.Sink sink = (t, s, e, atStart) -> encodePiece(t, s, e, this);

        void emit(int id) {
            if (outLen == out.length) out = java.util.Arrays.copyOf(out, out.length * 2);
            out[outLen++] = id;
        }

        void ensureSymbols(int n) {
            if (sym.length < n) {
                int cap = Math.max(n, sym.length * 2);
                sym = new int[cap];
                next = new int[cap];
                prev = new int[cap];
                heap = new long[3 * cap];
            }
        }

        /** UTF-8 of {@code t[start, end)} into {@code bytes}; returns its length. */
        int utf8(CharSequence t, int start, int end) {
            int need = Utf8.maxEncodedLength(start, end);
            if (bytes.length < need) bytes = new byte[Math.max(need, bytes.length * 2)];
            return Utf8.encodeInto(t, start, end, bytes);
        }
    }

    // ---- decoding ----

    @Override
    public String decode(int[] ids) {
        List<String> list = new ArrayList<>(ids.length);
        for (int id : ids) if (id >= 0 && id < tokens.length) list.add(tokens[id]);
        return decoding.decode(list);
    }

    @Override
    public TokenDecoder decoder() {
        return new TokenDecoder(this::appendPiece);
    }

    private void appendPiece(int previous, int token, ByteArrayOutputStream out) {
        if (token < 0 || token >= tokens.length) return;
        decoding.appendStreaming(tokens[token], previous == -1, out);
    }

    @Override
    public String toString() {
        return "BpeTokenizer[" + spec.flavour() + ", " + tokens.length + " tokens, " + merges.size() + " merges]";
    }
}
