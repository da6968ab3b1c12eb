package dev.longbow.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE over scored pieces, as llama2.c's run.c encodes: the text (with a dummy-prefix space) is
 * split into UTF-8 characters, characters missing from the vocabulary fall back to byte tokens, then the adjacent
 * pair whose concatenation is the highest-scoring piece is merged, leftmost first on ties, until none is left.
 * Pieces are stored with U+2581 already turned into a space, as llama2.c's tokenizer.bin stores them.
 */
public final class SentencePieceBpe implements Tokenizer {
    /** GGUF token types. */
    public static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    private final String[] pieces;
    private final byte[][] pieceBytes;
    private final float[] scores;
    private final int[] types;
    private final Map<String, Integer> ids = new HashMap<>();
    private final int[] byteIds = new int[256];
    private final int bos, eos, unk;

    public SentencePieceBpe(String[] pieces, float[] scores, int[] types, int bos, int eos, int unk) {
        this.pieces = pieces;
        this.scores = scores;
        this.types = types;
        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.pieceBytes = new byte[pieces.length][];
        java.util.Arrays.fill(byteIds, -1);
        for (int i = 0; i < pieces.length; i++) {
            pieceBytes[i] = pieces[i].getBytes(StandardCharsets.UTF_8);
            int b = byteValue(pieces[i]);
            if (b >= 0 && types[i] == BYTE && byteIds[b] < 0) byteIds[b] = i;
            // Control and unknown tokens never come out of text; otherwise the first id of a duplicate piece wins.
            if (types[i] != CONTROL && types[i] != UNKNOWN) ids.putIfAbsent(pieces[i], i);
        }
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

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] sym = new int[utf8.length + 2];
        int n = 0;
        if (addBos) sym[n++] = bos;
        int mergeFrom = n; // BOS never merges with text
        if (utf8.length > 0) {
            Integer space = ids.get(" ");
            if (space != null) sym[n++] = space;
        }
        for (int i = 0; i < utf8.length; ) {
            int len = 1;
            while (len < 4 && i + len < utf8.length && (utf8[i + len] & 0xC0) == 0x80) len++;
            Integer id = ids.get(new String(utf8, i, len, StandardCharsets.UTF_8));
            if (id != null && validUtf8(utf8, i, len)) {
                sym[n++] = id;
            } else {
                if (n + len > sym.length) sym = java.util.Arrays.copyOf(sym, sym.length * 2 + len);
                for (int k = 0; k < len; k++) sym[n++] = byteToken(utf8[i + k] & 0xFF);
            }
            i += len;
        }
        return merge(sym, n, mergeFrom);
    }

    private static boolean validUtf8(byte[] b, int off, int len) {
        return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(b, off, len), java.nio.CharBuffer.allocate(4), true).isUnderflow();
    }

    private int byteToken(int b) {
        if (byteIds[b] >= 0) return byteIds[b];
        int id = b + 3; // llama2.c's convention when the vocabulary does not mark its byte pieces
        return id < pieces.length ? id : unk;
    }

    /** Highest-scoring merges first, leftmost on ties, with a heap over a linked list of symbols. */
    private int[] merge(int[] sym, int n, int from) {
        int[] prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        record Candidate(int left, int right, int leftId, int rightId, int merged, float score) {}
        PriorityQueue<Candidate> heap = new PriorityQueue<>((a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        java.util.function.BiConsumer<Integer, Integer> consider = (l, r) -> {
            if (l < from || r < 0) return;
            Integer m = ids.get(pieces[sym[l]] + pieces[sym[r]]);
            if (m != null && scores[m] > -1e10f) heap.add(new Candidate(l, r, sym[l], sym[r], m, scores[m]));
        };
        for (int i = from; i + 1 < n; i++) consider.accept(i, i + 1);
        boolean[] dead = new boolean[n];
        while (!heap.isEmpty()) {
            Candidate c = heap.poll();
            if (dead[c.left] || dead[c.right] || next[c.left] != c.right || sym[c.left] != c.leftId || sym[c.right] != c.rightId) continue;
            sym[c.left] = c.merged;
            dead[c.right] = true;
            next[c.left] = next[c.right];
            if (next[c.right] >= 0) prev[next[c.right]] = c.left;
            if (prev[c.left] >= 0) consider.accept(prev[c.left], c.left);
            if (next[c.left] >= 0) consider.accept(c.left, next[c.left]);
        }
        int count = 0;
        for (int i = 0; i < n; i++) if (!dead[i]) count++;
        int[] out = new int[count];
        for (int i = 0, k = 0; i < n; i++) if (!dead[i]) out[k++] = sym[i];
        return out;
    }

    @Override
    public TokenDecoder decoder() {
        return new TokenDecoder(this::appendPiece);
    }

    private void appendPiece(int previous, int token, ByteArrayOutputStream out) {
        if (token < 0 || token >= pieces.length) return;
        if (types[token] == CONTROL) return;
        if (types[token] == BYTE || (byteValue(pieces[token]) >= 0 && types[token] != NORMAL)) {
            int b = byteValue(pieces[token]);
            // As run.c: a lone byte that is neither printable nor whitespace ASCII is dropped; bytes >= 0x80 build UTF-8.
            if (b >= 0x80 || b >= 0x20 && b < 0x7F || (b >= 0x09 && b <= 0x0D)) out.write(b);
            return;
        }
        byte[] p = pieceBytes[token];
        int start = previous == bos && p.length > 0 && p[0] == ' ' ? 1 : 0; // SentencePiece strips the dummy prefix
        out.write(p, start, p.length - start);
    }
}
