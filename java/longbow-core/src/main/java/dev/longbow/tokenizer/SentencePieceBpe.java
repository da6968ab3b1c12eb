package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece BPE (Llama 1/2, Mistral, TinyLlama, llama2.c), encoding exactly as the sentencepiece library's
 * {@code bpe_model.cc} does: the normalized text is split into characters (user-defined symbols, longest first, as
 * one frozen symbol each), then the adjacent pair whose concatenation is a vocabulary piece with the highest score is
 * merged, leftmost on ties, until no pair is; pieces marked unused are split back; characters outside the vocabulary
 * become byte pieces {@code <0xNN>} when the model has byte fallback, otherwise one unknown id per run of them.
 * Pieces are kept as sentencepiece spells them, with U+2581 for a space.
 */
public final class SentencePieceBpe implements Tokenizer {
    /** Piece types, numbered as in sentencepiece_model.proto and GGUF's tokenizer.ggml.token_type. */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    private final String[] pieces;
    private final byte[][] pieceBytes;
    private final float[] scores;
    private final int[] types;
    private final int bos, eos, unk;
    private final boolean byteFallback;
    private final SentencePieceNormalizer normalizer;
    private final byte[] unknownSurface;

    /** Each byte's piece id ({@code <0xNN>}), or the unknown id where the vocabulary lacks it. */
    private final int[] byteIds = new int[256];
    /** The byte value of each BYTE piece, -1 for other pieces. */
    private final int[] byteOfPiece;

    // The merge tables. A "symbol" is the id of a mergeable piece (normal, user-defined or unused), or an id past the
    // vocabulary for a character that is not a piece itself but occurs inside one, or -1 for a character that occurs
    // in no piece (and so can never merge). Merges are then looked up by (left symbol, right symbol) without building
    // strings.
    private final int[] asciiSymbol = new int[128];
    private final LongIntMap charSymbols;
    private final LongIntMap merges;
    /** Merge priority of each piece: 0 for the highest score, equal scores sharing a rank (then the leftmost pair wins). */
    private final int[] scoreRank;
    private final int[] pieceLength;
    /** For a mergeable piece, the id sentencepiece reports for its text (a reserved piece of the same text wins). */
    private final int[] outputId;
    /** Single-character control, unknown or byte pieces: what an unmergeable character symbol spelled so reports. */
    private final LongIntMap reservedChars;
    private final SentencePieceNormalizer.PrefixMatcher userDefined; // null when there are none
    private final SpecialTokens specials; // control, user-defined and unknown spellings, for parseSpecial
    /** Which word boundaries no piece spans, so that words can be merged one at a time. */
    private final WordBoundary wordBoundary;

    private enum WordBoundary {
        /** Pieces hold U+2581 only in a leading run (Llama): nothing merges across "x|▁". */
        SPACE_STARTS_WORDS,
        /** Pieces hold U+2581 only in a trailing run (treat_whitespace_as_suffix): nothing merges across "▁|x". */
        SPACE_ENDS_WORDS,
        /**
         * Pieces span both, or some are unused: sentencepiece resegments an unused piece by the pair last seen to make
         * it anywhere in the text, which depends on the global order of merges.
         */
        NONE
    }

    /**
     * A vocabulary with Llama's normalization (dummy space prefix, spaces as U+2581, nothing else), as llama2.c's
     * tokenizer.bin and GGUF's {@code llama} vocabularies carry it. The first of duplicate pieces wins.
     */
    public SentencePieceBpe(String[] pieces, float[] scores, int[] types, int bos, int eos, int unk) {
        this(pieces, scores, types, bos, eos, unk, true);
    }

    public SentencePieceBpe(String[] pieces, float[] scores, int[] types, int bos, int eos, int unk, boolean addDummyPrefix) {
        this(utf8(pieces), scores, types, bos, eos, unk, hasType(types, BYTE),
                new SentencePieceNormalizer.Options(addDummyPrefix, false, true, false), null, " \u2047 ".getBytes(StandardCharsets.UTF_8), "vocabulary");
    }

    private SentencePieceBpe(byte[][] pieceBytes, float[] scores, int[] types, int bos, int eos, int unk, boolean byteFallback,
                             SentencePieceNormalizer.Options options, SentencePieceNormalizer.CharsMap charsMap, byte[] unknownSurface, String name) {
        int n = pieceBytes.length;
        if (scores.length != n || types.length != n) throw new LongbowException(name + ": pieces, scores and types differ in length");
        this.pieceBytes = pieceBytes;
        this.pieces = new String[n];
        for (int i = 0; i < n; i++) pieces[i] = new String(pieceBytes[i], StandardCharsets.UTF_8);
        this.scores = scores;
        this.types = types;
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.byteFallback = byteFallback;
        this.unknownSurface = unknownSurface;

        // sentencepiece's two dictionaries: mergeable pieces, and reserved ones (control, unknown, byte) that win lookups.
        Map<String, Integer> mergeable = new HashMap<>(), reserved = new HashMap<>();
        List<byte[]> userDefinedSymbols = new ArrayList<>();
        List<Integer> userDefinedIds = new ArrayList<>();
        Map<String, Integer> specialSpellings = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String key = latin1(pieceBytes[i], 0, pieceBytes[i].length);
            if (isMergeable(types[i])) {
                if (mergeable.putIfAbsent(key, i) == null && types[i] == USER_DEFINED) {
                    userDefinedSymbols.add(pieceBytes[i]);
                    userDefinedIds.add(i);
                }
            } else {
                reserved.putIfAbsent(key, i);
            }
            if ((types[i] == CONTROL || types[i] == USER_DEFINED || types[i] == UNKNOWN) && !pieces[i].isEmpty()) {
                specialSpellings.putIfAbsent(pieces[i], i);
            }
        }
        this.userDefined = userDefinedSymbols.isEmpty() ? null
                : new SentencePieceNormalizer.PrefixMatcher(userDefinedSymbols, userDefinedIds.stream().mapToInt(Integer::intValue).toArray());
        this.normalizer = new SentencePieceNormalizer(options, charsMap, userDefined);
        this.specials = specialSpellings.isEmpty() ? null : new SpecialTokens(specialSpellings);

        this.byteOfPiece = new int[n];
        for (int i = 0; i < n; i++) byteOfPiece[i] = types[i] == BYTE ? byteValue(pieces[i]) : -1;
        for (int b = 0; b < 256; b++) {
            String spelling = String.format("<0x%02X>", b);
            Integer id = reserved.get(spelling);
            if (id == null) id = mergeable.get(spelling);
            byteIds[b] = id != null ? id : unk;
        }

        this.outputId = new int[n];
        this.charSymbols = new LongIntMap(1024);
        this.reservedChars = new LongIntMap(16);
        for (int i = 0; i < n; i++) {
            byte[] p = pieceBytes[i];
            String key = latin1(p, 0, p.length);
            boolean oneChar = p.length > 0 && Utf8.oneCharLength(p[0]) >= p.length;
            if (isMergeable(types[i])) {
                if (mergeable.get(key) != i) continue; // a duplicate: the first one is the piece
                outputId[i] = reserved.getOrDefault(key, i);
                if (oneChar) charSymbols.putIfAbsent(charKey(p, 0, p.length), i);
            } else if (oneChar && reserved.get(key) == i) {
                reservedChars.putIfAbsent(charKey(p, 0, p.length), i);
            }
        }
        // Characters inside pieces that are not pieces themselves still take part in merges.
        int nextSymbol = n;
        for (int i = 0; i < n; i++) {
            if (!isMergeable(types[i])) continue;
            byte[] p = pieceBytes[i];
            for (int pos = 0; pos < p.length; ) {
                int len = Math.min(Utf8.oneCharLength(p[pos]), p.length - pos);
                long ck = charKey(p, pos, len);
                if (charSymbols.get(ck) < 0) charSymbols.putIfAbsent(ck, nextSymbol++);
                pos += len;
            }
        }
        for (int c = 0; c < 128; c++) asciiSymbol[c] = charSymbols.get(charKey(new byte[]{(byte) c}, 0, 1));

        this.wordBoundary = wordBoundary(pieceBytes, types);
        this.pieceLength = new int[n];
        for (int i = 0; i < n; i++) pieceLength[i] = pieceBytes[i].length;
        this.scoreRank = scoreRanks(scores);
        this.merges = new LongIntMap(n * 4);
        for (int i = 0; i < n; i++) {
            byte[] p = pieceBytes[i];
            if (!isMergeable(types[i]) || p.length == 0 || mergeable.get(latin1(p, 0, p.length)) != i) continue;
            for (int split = Math.min(Utf8.oneCharLength(p[0]), p.length); split < p.length; ) {
                int left = symbolOf(p, 0, split, mergeable), right = symbolOf(p, split, p.length, mergeable);
                if (left >= 0 && right >= 0) merges.putIfAbsent((long) left << 32 | right, i);
                split += Math.min(Utf8.oneCharLength(p[split]), p.length - split);
            }
        }
    }

    private static WordBoundary wordBoundary(byte[][] pieces, int[] types) {
        boolean spaceAfterOther = false, otherAfterSpace = false;
        for (int i = 0; i < pieces.length; i++) {
            if (types[i] == UNUSED) return WordBoundary.NONE;
            if (!isMergeable(types[i])) continue;
            byte[] p = pieces[i];
            boolean sawSpace = false, sawOther = false;
            for (int pos = 0; pos < p.length; ) {
                boolean space = pos + 3 <= p.length && p[pos] == (byte) 0xE2 && p[pos + 1] == (byte) 0x96 && p[pos + 2] == (byte) 0x81;
                if (space) {
                    spaceAfterOther |= sawOther;
                    sawSpace = true;
                    pos += 3;
                } else {
                    otherAfterSpace |= sawSpace;
                    sawOther = true;
                    pos += Math.min(Utf8.oneCharLength(p[pos]), p.length - pos);
                }
            }
        }
        return !spaceAfterOther ? WordBoundary.SPACE_STARTS_WORDS : !otherAfterSpace ? WordBoundary.SPACE_ENDS_WORDS : WordBoundary.NONE;
    }

    /** Ranks of scores, highest first; sentencepiece compares scores as floats, so -0 and 0 tie and NaN ranks last. */
    private static int[] scoreRanks(float[] scores) {
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(key(scores[b]), key(scores[a])));
        int[] rank = new int[scores.length];
        for (int k = 0, r = 0; k < order.length; k++) {
            if (k > 0 && key(scores[order[k]]) != key(scores[order[k - 1]])) r++;
            rank[order[k]] = r;
        }
        return rank;
    }

    private static float key(float score) {
        return score == 0f ? 0f : Float.isNaN(score) ? Float.NEGATIVE_INFINITY : score;
    }

    /** The vocabulary of a parsed {@code tokenizer.model}, checked as sentencepiece checks it when loading. */
    public static SentencePieceBpe fromModelFile(SentencePieceModelFile model, String name) {
        SentencePieceModelFile.TrainerSpec trainer = model.trainer();
        if (trainer.modelType() != SentencePieceModelFile.BPE) {
            String kind = switch (trainer.modelType()) {
                case SentencePieceModelFile.UNIGRAM -> "UNIGRAM";
                case SentencePieceModelFile.WORD -> "WORD";
                case SentencePieceModelFile.CHAR -> "CHAR";
                default -> "type " + trainer.modelType();
            };
            throw new LongbowException(name + ": SentencePiece " + kind + " models are not supported (only BPE, as Llama, Mistral and TinyLlama use)");
        }
        if (model.denormalizer() != null && model.denormalizer().precompiledCharsMap().length > 0) {
            throw new LongbowException(name + ": SentencePiece models with a denormalizer are not supported");
        }
        int n = model.pieces().size();
        byte[][] bytes = new byte[n][];
        float[] scores = new float[n];
        int[] types = new int[n];
        Map<String, Integer> mergeable = new HashMap<>(), reserved = new HashMap<>();
        int unk = -1;
        boolean[] bytesFound = new boolean[256];
        for (int i = 0; i < n; i++) {
            SentencePieceModelFile.Piece p = model.pieces().get(i);
            bytes[i] = p.utf8();
            scores[i] = p.score();
            types[i] = p.type();
            if (bytes[i].length == 0) throw new LongbowException(name + ": piece " + i + " is empty");
            if ((isMergeable(types[i]) ? mergeable : reserved).putIfAbsent(latin1(bytes[i], 0, bytes[i].length), i) != null) {
                throw new LongbowException(name + ": piece " + i + " '" + p.text() + "' is defined twice");
            }
            if (types[i] == UNKNOWN) {
                if (unk >= 0) throw new LongbowException(name + ": more than one unknown piece (" + unk + " and " + i + ")");
                unk = i;
            }
            if (types[i] == BYTE) {
                if (!trainer.byteFallback()) throw new LongbowException(name + ": byte piece " + p.text() + " although byte_fallback is off");
                int b = byteValue(p.text());
                if (b < 0 || !p.text().equals(String.format("<0x%02X>", b))) throw new LongbowException(name + ": invalid byte piece " + p.text());
                bytesFound[b] = true;
            }
        }
        if (unk < 0) throw new LongbowException(name + ": no unknown piece (<unk>)");
        if (trainer.byteFallback()) {
            for (int b = 0; b < 256; b++) {
                if (!bytesFound[b]) throw new LongbowException(name + ": byte_fallback is on but there is no piece for byte " + String.format("<0x%02X>", b));
            }
        }
        int bos = special(reserved, types, trainer.bosPiece(), CONTROL), eos = special(reserved, types, trainer.eosPiece(), CONTROL);
        SentencePieceModelFile.NormalizerSpec ns = model.normalizer();
        var options = new SentencePieceNormalizer.Options(ns.addDummyPrefix(), ns.removeExtraWhitespaces(), ns.escapeWhitespaces(), trainer.treatWhitespaceAsSuffix());
        var charsMap = ns.precompiledCharsMap().length == 0 ? null : SentencePieceNormalizer.CharsMap.parse(ns.precompiledCharsMap(), name);
        byte[] surface = trainer.unkSurface();
        for (int i = 0; i < surface.length; i++) if (surface[i] == 0) surface = Arrays.copyOf(surface, i); // read as a C string
        return new SentencePieceBpe(bytes, scores, types, bos, eos, unk, trainer.byteFallback(), options, charsMap, surface, name);
    }

    /** As sentencepiece's bos_id()/eos_id(): the piece spelled so, when it is a control piece; else -1. */
    private static int special(Map<String, Integer> reserved, int[] types, String spelling, int type) {
        byte[] b = spelling.getBytes(StandardCharsets.UTF_8);
        Integer id = reserved.get(latin1(b, 0, b.length));
        return id != null && types[id] == type ? id : -1;
    }

    private static boolean isMergeable(int type) {
        return type == NORMAL || type == USER_DEFINED || type == UNUSED;
    }

    private static boolean hasType(int[] types, int type) {
        for (int t : types) if (t == type) return true;
        return false;
    }

    private static byte[][] utf8(String[] pieces) {
        byte[][] b = new byte[pieces.length][];
        for (int i = 0; i < pieces.length; i++) b[i] = pieces[i].getBytes(StandardCharsets.UTF_8);
        return b;
    }

    /** A byte string as a String of the same length, one char per byte, for use as a map key. */
    private static String latin1(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }

    /** One character (1 to 4 bytes) packed into a long: its length above its bytes. */
    private static long charKey(byte[] b, int pos, int len) {
        long k = len;
        for (int i = 0; i < len; i++) k = k << 8 | (b[pos + i] & 0xFF);
        return k;
    }

    private int symbolOf(byte[] p, int from, int to, Map<String, Integer> mergeable) {
        if (Math.min(Utf8.oneCharLength(p[from]), to - from) == to - from) return charSymbols.get(charKey(p, from, to - from));
        Integer id = mergeable.get(latin1(p, from, to));
        return id == null ? -1 : id;
    }

    /** 0..255 for a piece spelled {@code <0xNN>}, else -1. */
    static int byteValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = Character.digit(piece.charAt(3), 16), lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    public int unk() {
        return unk;
    }

    /** Whether text gets a dummy space in front (sentencepiece's add_dummy_prefix, GGUF's add_space_prefix). */
    public boolean addsDummyPrefix() {
        return normalizer.options().addDummyPrefix();
    }

    @Override
    public String piece(int id) {
        return pieces[id];
    }

    public float score(int id) {
        return scores[id];
    }

    public int type(int id) {
        return types[id];
    }

    @Override
    public boolean isEndOfText(int id) {
        // llama2.c models end a story by starting the next one: BOS delimits sequences there.
        return id == eos || id == bos;
    }

    /**
     * With {@code parseSpecial}, control, user-defined and unknown piece spellings ({@code <s>}) become their ids and
     * each stretch of text between them is encoded on its own, dummy space included: llama.cpp's tokenize_impl for
     * SPM puts the space in front of every text fragment that starts the text or follows a special token, which for
     * alternating fragments is all of them. Without it the text is encoded whole, as sentencepiece does.
     */
    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 2 + 4);
        if (addBos && bos >= 0) out.add(bos);
        if (parseSpecial && specials != null) {
            specials.split(text, new SpecialTokens.Sink() {
                @Override
                public void text(String t, int start, int end) {
                    encodeText(t, start, end, out);
                }

                @Override
                public void special(int id) {
                    out.add(id);
                }
            });
        } else {
            encodeText(text, 0, text.length(), out);
        }
        return out.toArray();
    }

    private void encodeText(String text, int from, int to, IntList out) {
        byte[] utf8 = Utf8.encode(text, from, to);
        SentencePieceNormalizer.ByteList normalized = new SentencePieceNormalizer.ByteList(utf8.length + utf8.length / 4 + 8);
        normalizer.normalize(utf8, 0, utf8.length, normalized);
        new Encoding(normalized.bytes, normalized.size, out).run();
    }

    /**
     * The state of one BPE encoding: a doubly linked list of symbols over the normalized text and a binary heap of
     * merge candidates. A candidate's heap key is its piece's score rank above its left symbol's index, so one long
     * comparison orders by score, then leftmost; beside the key the heap holds the piece the pair makes.
     */
    private final class Encoding {
        private final byte[] text;
        private final IntList out;
        private int count;
        private final int[] start, length, symbol, prev, next;
        private final boolean[] frozen;
        private long[] heapKey;
        private int[] heapPiece;
        private int heapSize;
        /** For unused pieces: the last pair seen to make each (left symbol, start, length, right symbol, start, length). */
        private Map<Integer, int[]> unusedSplits;
        private boolean previousUnknown;

        Encoding(byte[] text, int n, IntList out) {
            this.text = text;
            this.out = out;
            start = new int[n];
            length = new int[n];
            symbol = new int[n];
            prev = new int[n];
            next = new int[n];
            frozen = new boolean[n];
            for (int pos = 0; pos < n; ) {
                int len, sym;
                long match = userDefined == null ? -1 : userDefined.longestMatch(text, pos, n);
                if (match >= 0) {
                    len = (int) (match >>> 32);
                    sym = (int) match;
                    frozen[count] = true;
                } else {
                    byte b = text[pos];
                    len = Math.min(Utf8.oneCharLength(b), n - pos);
                    sym = b >= 0 ? asciiSymbol[b] : charSymbols.get(charKey(text, pos, len));
                }
                start[count] = pos;
                length[count] = len;
                symbol[count] = sym;
                prev[count] = count - 1;
                pos += len;
                next[count] = pos < n ? count + 1 : -1;
                count++;
            }
            int capacity = Math.max(16, count);
            heapKey = new long[capacity];
            heapPiece = new int[capacity];
        }

        void run() {
            if (count == 0) return;
            // Where no piece can span a word boundary, words merge independently: the same merges happen, each among
            // a few candidates instead of in one heap over the whole text.
            for (int segment = 0, i = 1; i <= count; i++) {
                if (i < count && !wordStartsAt(i)) continue;
                for (int j = segment + 1; j < i; j++) consider(j - 1, j);
                mergeAll();
                segment = i;
            }
            for (int i = 0; i != -1; i = next[i]) resegment(symbol[i], start[i], length[i]);
        }

        /** Whether symbol i starts a word no piece reaches across: a space symbol after a non-space (or the reverse). */
        private boolean wordStartsAt(int i) {
            return switch (wordBoundary) {
                case SPACE_STARTS_WORDS -> isSpace(start[i]) && !isSpace(start[i - 1] + length[i - 1] - 3);
                case SPACE_ENDS_WORDS -> !isSpace(start[i]) && isSpace(start[i - 1] + length[i - 1] - 3);
                default -> false;
            };
        }

        private boolean isSpace(int at) {
            return at >= 0 && at + 3 <= text.length && text[at] == (byte) 0xE2 && text[at + 1] == (byte) 0x96 && text[at + 2] == (byte) 0x81;
        }

        private void mergeAll() {
            while (heapSize > 0) {
                int left = (int) heapKey[0], piece = heapPiece[0];
                pop();
                int right = next[left];
                // Stale when either side has merged with something else since it was found: lengths only grow, so
                // the pair is unchanged exactly when its lengths still add up to the piece (as sentencepiece checks).
                if (length[left] == 0 || right < 0 || length[left] + length[right] != pieceLength[piece]) continue;
                length[left] += length[right];
                symbol[left] = piece;
                next[left] = next[right];
                if (next[right] >= 0) prev[next[right]] = left;
                length[right] = 0;
                consider(prev[left], left);
                consider(left, next[left]);
            }
        }

        private void consider(int left, int right) {
            if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
            int l = symbol[left], r = symbol[right];
            if (l < 0 || r < 0) return;
            int piece = merges.get((long) l << 32 | r);
            if (piece < 0) return;
            push((long) scoreRank[piece] << 32 | left, piece);
            if (types[piece] == UNUSED) {
                if (unusedSplits == null) unusedSplits = new HashMap<>();
                unusedSplits.put(piece, new int[]{l, start[left], length[left], r, start[right], length[right]});
            }
        }

        private void push(long key, int piece) {
            if (heapSize == heapKey.length) {
                heapKey = Arrays.copyOf(heapKey, heapSize * 2);
                heapPiece = Arrays.copyOf(heapPiece, heapSize * 2);
            }
            int i = heapSize++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heapKey[parent] <= key) break;
                heapKey[i] = heapKey[parent];
                heapPiece[i] = heapPiece[parent];
                i = parent;
            }
            heapKey[i] = key;
            heapPiece[i] = piece;
        }

        private void pop() {
            long key = heapKey[--heapSize];
            int piece = heapPiece[heapSize];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= heapSize) break;
                if (child + 1 < heapSize && heapKey[child + 1] < heapKey[child]) child++;
                if (heapKey[child] >= key) break;
                heapKey[i] = heapKey[child];
                heapPiece[i] = heapPiece[child];
                i = child;
            }
            heapKey[i] = key;
            heapPiece[i] = piece;
        }

        /** Emits a final symbol, splitting an unused piece back into the pair that made it (iteratively: no deep recursion). */
        private void resegment(int sym, int from, int len) {
            if (unusedSplits == null) {
                emit(idOf(sym, from, len), from, len);
                return;
            }
            IntList stack = new IntList(16);
            stack.add(sym);
            stack.add(from);
            stack.add(len);
            while (stack.size > 0) {
                int l = stack.pop(), f = stack.pop(), s = stack.pop();
                int id = idOf(s, f, l);
                int[] split = types[id] == UNUSED ? unusedSplits.get(s) : null;
                if (split == null) {
                    emit(id, f, l);
                } else { // right pushed first so that left comes out first
                    stack.add(split[3]);
                    stack.add(split[4]);
                    stack.add(split[5]);
                    stack.add(split[0]);
                    stack.add(split[1]);
                    stack.add(split[2]);
                }
            }
        }

        /** The id sentencepiece's PieceToId gives the symbol's text. */
        private int idOf(int sym, int from, int len) {
            if (sym >= 0 && sym < pieces.length) return outputId[sym];
            // Not a mergeable piece, so a single character: a control, unknown or byte piece may still spell it.
            int id = reservedChars.size() > 0 && len <= 4 ? reservedChars.get(charKey(text, from, len)) : -1;
            return id >= 0 ? id : unk;
        }

        /** As sentencepiece's PopulateSentencePieceText: byte fallback for unknown pieces, else runs of unknowns as one. */
        private void emit(int id, int from, int len) {
            boolean unknown = id >= 0 && types[id] == UNKNOWN;
            if (id >= 0 && types[id] == CONTROL) {
                out.add(id);
            } else if (unknown && byteFallback) {
                for (int i = from; i < from + len; i++) out.add(byteIds[text[i] & 0xFF]);
            } else if (!(unknown && previousUnknown)) {
                out.add(id);
            }
            previousUnknown = unknown;
        }
    }

    /** A growable int array. */
    static final class IntList {
        int[] values;
        int size;

        IntList(int capacity) {
            values = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (size == values.length) values = Arrays.copyOf(values, size * 2);
            values[size++] = v;
        }

        int pop() {
            return values[--size];
        }

        int[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    @Override
    public TokenDecoder decoder() {
        return new TokenDecoder(new Decoding());
    }

    /**
     * Decoding as sentencepiece's DecodeIds: control pieces vanish, the unknown piece reads as its surface
     * (" \u2047 "), U+2581 becomes a space, and the dummy-prefix space of the first piece is dropped. Runs of byte
     * pieces are read as UTF-8, where each byte that does not belong to a well-formed character becomes U+FFFD
     * (one per byte, as sentencepiece does, not one per maximal bad sequence as Java and Rust do). Characters are
     * emitted as soon as they are complete, so a stream of tokens never shows half of one.
     */
    private final class Decoding implements TokenDecoder.Pieces {
        private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD};
        private boolean atStart = true, strippedLeadingSpace, wroteText;
        private final int[] run = new int[4];
        private int runLength;

        @Override
        public void append(int previous, int token, ByteArrayOutputStream out) {
            if (token < 0 || token >= pieces.length) return;
            if (byteOfPiece[token] >= 0) {
                run[runLength++] = byteOfPiece[token];
                settle(false, out);
                return;
            }
            settle(true, out);
            if (strippedLeadingSpace || wroteText) atStart = false;
            strippedLeadingSpace = false;
            if (types[token] == CONTROL) return;
            if (types[token] == UNKNOWN) {
                write(unknownSurface, 0, unknownSurface.length, out);
                return;
            }
            byte[] p = pieceBytes[token];
            int from = 0;
            SentencePieceNormalizer.Options o = normalizer.options();
            if (atStart && (o.addDummyPrefix() || o.removeExtraWhitespaces()) && startsWithSpaceSymbol(p, 0)) {
                from = 3;
                // With remove_extra_whitespaces every leading space piece goes, not just the first.
                strippedLeadingSpace = !o.removeExtraWhitespaces();
            }
            int plain = from;
            for (int i = from; i < p.length; ) {
                if (startsWithSpaceSymbol(p, i)) {
                    write(p, plain, i - plain, out);
                    out.write(' ');
                    wroteText = true;
                    i += 3;
                    plain = i;
                } else {
                    i++;
                }
            }
            write(p, plain, p.length - plain, out);
        }

        @Override
        public void finish(ByteArrayOutputStream out) {
            settle(true, out);
        }

        private void write(byte[] b, int off, int len, ByteArrayOutputStream out) {
            if (len <= 0) return;
            out.write(b, off, len);
            wroteText = true;
        }

        private static boolean startsWithSpaceSymbol(byte[] p, int i) {
            return i + 3 <= p.length && p[i] == (byte) 0xE2 && p[i + 1] == (byte) 0x96 && p[i + 2] == (byte) 0x81;
        }

        /**
         * Writes out whatever the pending byte run already decides: complete characters, and U+FFFD for each byte
         * that cannot start one. At the end of a run ({@code ended}) an unfinished character is bad bytes too.
         */
        private void settle(boolean ended, ByteArrayOutputStream out) {
            while (runLength > 0) {
                int lead = run[0];
                int need = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
                boolean bad = need == 0;
                for (int i = 1; !bad && i < Math.min(need, runLength); i++) bad = (run[i] & 0xC0) != 0x80;
                if (!bad && runLength < need) {
                    if (!ended) return;
                    bad = true;
                }
                if (!bad) {
                    byte[] ch = new byte[need];
                    for (int i = 0; i < need; i++) ch[i] = (byte) run[i];
                    bad = Utf8.validCharLength(ch, 0, need) != need;
                    if (!bad) {
                        write(ch, 0, need, out);
                        drop(need);
                        continue;
                    }
                }
                write(REPLACEMENT, 0, 3, out);
                drop(1);
            }
        }

        private void drop(int k) {
            System.arraycopy(run, k, run, 0, runLength - k);
            runLength -= k;
        }
    }
}
