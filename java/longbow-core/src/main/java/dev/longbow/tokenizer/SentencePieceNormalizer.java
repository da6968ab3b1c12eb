package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.util.Arrays;
import java.util.List;

/**
 * SentencePiece's text normalization, on UTF-8 bytes, as sentencepiece's {@code Normalizer::Normalize} does it:
 * user-defined symbols pass through untouched, otherwise the longest rule of the precompiled character map (the
 * {@code nmt_nfkc} family) replaces its match, leading/trailing/repeated spaces are dropped when asked, a dummy space
 * goes in front (or behind), and spaces become U+2581.
 */
final class SentencePieceNormalizer {
    static final byte[] SPACE_SYMBOL = {(byte) 0xE2, (byte) 0x96, (byte) 0x81}; // U+2581
    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD}; // U+FFFD

    /** The NormalizerSpec switches, plus the trainer's treat_whitespace_as_suffix which moves the dummy space. */
    record Options(boolean addDummyPrefix, boolean removeExtraWhitespaces, boolean escapeWhitespaces, boolean whitespaceAsSuffix) {
        /** Llama's settings, also what llama2.c's tokenizer.bin and GGUF vocabularies imply. */
        static final Options LLAMA = new Options(true, false, true, false);
    }

    private final Options options;
    private final CharsMap charsMap; // null: identity
    private final PrefixMatcher userDefined; // null: none

    SentencePieceNormalizer(Options options, CharsMap charsMap, PrefixMatcher userDefined) {
        this.options = options;
        this.charsMap = charsMap;
        this.userDefined = userDefined;
    }

    Options options() {
        return options;
    }

    /** A growable byte array. */
    static final class ByteList {
        byte[] bytes;
        int size;

        ByteList(int capacity) {
            bytes = new byte[Math.max(16, capacity)];
        }

        void add(byte b) {
            if (size == bytes.length) bytes = Arrays.copyOf(bytes, size * 2);
            bytes[size++] = b;
        }

        void add(byte[] src, int off, int len) {
            if (size + len > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(size * 2, size + len));
            System.arraycopy(src, off, bytes, size, len);
            size += len;
        }

        boolean endsWith(byte[] suffix) {
            if (size < suffix.length) return false;
            for (int i = 0; i < suffix.length; i++) if (bytes[size - suffix.length + i] != suffix[i]) return false;
            return true;
        }
    }

    /** What one normalization step read and produced: {@code out[outOff, outOff + outLen)} for {@code consumed} input bytes. */
    private static final class Step {
        byte[] out;
        int outOff, outLen, consumed;

        boolean isOneSpace() {
            return outLen == 1 && out[outOff] == ' ';
        }
    }

    /** Normalizes the valid UTF-8 {@code in[from, to)} into {@code out} (which is cleared first). */
    void normalize(byte[] in, int from, int to, ByteList out) {
        out.size = 0;
        if (from >= to) return;
        if (charsMap == null && userDefined == null && !options.removeExtraWhitespaces) {
            identity(in, from, to, out);
            return;
        }
        Step step = new Step();
        int pos = from;
        if (options.removeExtraWhitespaces) {
            while (pos < to) {
                prefix(in, pos, to, step);
                if (!step.isOneSpace()) break;
                pos += step.consumed;
            }
            if (pos == to) return;
        }
        if (!options.whitespaceAsSuffix && options.addDummyPrefix) addSpace(out);
        boolean previousEndsInSpace = options.removeExtraWhitespaces;
        while (pos < to) {
            prefix(in, pos, to, step);
            int off = step.outOff, end = step.outOff + step.outLen;
            if (previousEndsInSpace) while (off < end && step.out[off] == ' ') off++;
            if (off < end) {
                for (int i = off; i < end; i++) {
                    if (step.out[i] == ' ' && options.escapeWhitespaces) out.add(SPACE_SYMBOL, 0, 3);
                    else out.add(step.out[i]);
                }
                previousEndsInSpace = step.out[end - 1] == ' ';
            }
            pos += step.consumed;
            if (!options.removeExtraWhitespaces) previousEndsInSpace = false;
        }
        if (options.removeExtraWhitespaces) {
            byte[] space = options.escapeWhitespaces ? SPACE_SYMBOL : new byte[]{' '};
            while (out.endsWith(space)) out.size -= space.length;
        }
        if (options.whitespaceAsSuffix && options.addDummyPrefix) addSpace(out);
    }

    private void identity(byte[] in, int from, int to, ByteList out) {
        if (!options.whitespaceAsSuffix && options.addDummyPrefix) addSpace(out);
        for (int i = from; i < to; i++) {
            byte b = in[i];
            if (b == ' ' && options.escapeWhitespaces) out.add(SPACE_SYMBOL, 0, 3);
            else out.add(b);
        }
        if (options.whitespaceAsSuffix && options.addDummyPrefix) addSpace(out);
    }

    private void addSpace(ByteList out) {
        if (options.escapeWhitespaces) out.add(SPACE_SYMBOL, 0, 3);
        else out.add((byte) ' ');
    }

    /** sentencepiece's NormalizePrefix: how the text at {@code pos} normalizes and how many bytes that takes. */
    private void prefix(byte[] in, int pos, int to, Step step) {
        if (userDefined != null) {
            long match = userDefined.longestMatch(in, pos, to);
            if (match >= 0) {
                int len = (int) (match >>> 32);
                step.out = in;
                step.outOff = pos;
                step.outLen = step.consumed = len;
                return;
            }
        }
        if (charsMap != null && charsMap.match(in, pos, to, step)) return;
        int len = Utf8.validCharLength(in, pos, to);
        if (len == 0) { // malformed: one byte becomes U+FFFD
            step.out = REPLACEMENT;
            step.outOff = 0;
            step.outLen = 3;
            step.consumed = 1;
        } else {
            step.out = in;
            step.outOff = pos;
            step.outLen = step.consumed = len;
        }
    }

    /**
     * The precompiled_charsmap of a NormalizerSpec: a little-endian uint32 trie size, a Darts-clone double-array trie
     * over UTF-8 byte strings, then NUL-terminated replacement strings the trie's values point into.
     */
    static final class CharsMap {
        /** sentencepiece looks at no more than this many matching prefixes and keeps the longest of them. */
        private static final int MAX_RESULTS = 32;
        private final int[] units;
        private final byte[] replacements;
        private final String name;

        private CharsMap(int[] units, byte[] replacements, String name) {
            this.units = units;
            this.replacements = replacements;
            this.name = name;
        }

        static CharsMap parse(byte[] blob, String name) {
            if (blob.length <= 4) throw new LongbowException(name + ": precompiled_charsmap of " + blob.length + " bytes is too short");
            long trieSize = (blob[0] & 0xFFL) | (blob[1] & 0xFFL) << 8 | (blob[2] & 0xFFL) << 16 | (blob[3] & 0xFFL) << 24;
            if (trieSize > blob.length - 4L || trieSize < 4) {
                throw new LongbowException(name + ": precompiled_charsmap has a bad trie size " + trieSize + " (blob of " + blob.length + " bytes)");
            }
            int[] units = new int[(int) (trieSize / 4)];
            for (int i = 0; i < units.length; i++) {
                int p = 4 + 4 * i;
                units[i] = (blob[p] & 0xFF) | (blob[p + 1] & 0xFF) << 8 | (blob[p + 2] & 0xFF) << 16 | (blob[p + 3] & 0xFF) << 24;
            }
            return new CharsMap(units, Arrays.copyOfRange(blob, 4 + (int) trieSize, blob.length), name);
        }

        private static boolean hasLeaf(int unit) {
            return (unit >>> 8 & 1) == 1;
        }

        private static int value(int unit) {
            return unit & 0x7FFFFFFF;
        }

        private static int label(int unit) {
            return unit & (0x80000000 | 0xFF);
        }

        private static int offset(int unit) {
            return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
        }

        /** The longest rule matching a prefix of {@code in[pos, to)}, into {@code step}; false when none does. */
        boolean match(byte[] in, int pos, int to, Step step) {
            int node = offset(unit(0));
            int found = 0, bestLength = 0, bestValue = 0;
            for (int i = pos; i < to; i++) {
                int b = in[i] & 0xFF;
                node ^= b;
                int unit = unit(node);
                if (label(unit) != b) break;
                node ^= offset(unit);
                if (hasLeaf(unit)) {
                    if (found < MAX_RESULTS) {
                        bestLength = i + 1 - pos;
                        bestValue = value(unit(node));
                    }
                    found++;
                }
            }
            if (bestLength == 0) return false;
            if (bestValue >= replacements.length) throw corrupt("a rule points past the replacement strings");
            int end = bestValue;
            while (end < replacements.length && replacements[end] != 0) end++;
            step.out = replacements;
            step.outOff = bestValue;
            step.outLen = end - bestValue;
            step.consumed = bestLength;
            return true;
        }

        private int unit(int index) {
            if (index < 0 || index >= units.length) throw corrupt("the trie leads outside itself");
            return units[index];
        }

        private LongbowException corrupt(String problem) {
            return new LongbowException(name + ": precompiled_charsmap is corrupt: " + problem);
        }
    }

    /** Longest match among a set of byte strings (the user-defined symbols), as a byte trie. */
    static final class PrefixMatcher {
        /** sentencepiece's matcher considers at most this many matching prefixes. */
        private static final int MAX_RESULTS = 64;
        private final LongIntMap children = new LongIntMap(64); // (node << 8 | byte) -> child node
        private int[] value = new int[16]; // node -> 1 + the id of the symbol ending there, or 0
        private int nodes = 1;
        private final boolean[] firstByte = new boolean[256];

        PrefixMatcher(List<byte[]> symbols, int[] ids) {
            for (int k = 0; k < symbols.size(); k++) {
                byte[] s = symbols.get(k);
                if (s.length == 0) continue;
                firstByte[s[0] & 0xFF] = true;
                int node = 0;
                for (byte b : s) {
                    long key = (long) node << 8 | (b & 0xFF);
                    int child = children.get(key);
                    if (child < 0) {
                        child = nodes++;
                        children.putIfAbsent(key, child);
                        if (nodes > value.length) value = Arrays.copyOf(value, value.length * 2);
                    }
                    node = child;
                }
                if (value[node] == 0) value[node] = ids[k] + 1;
            }
        }

        /** The longest symbol starting {@code in[pos, to)} as {@code length << 32 | id}, or -1 when none does. */
        long longestMatch(byte[] in, int pos, int to) {
            if (!firstByte[in[pos] & 0xFF]) return -1;
            int node = 0, found = 0;
            long best = -1;
            for (int i = pos; i < to && found < MAX_RESULTS; i++) {
                node = children.get((long) node << 8 | (in[i] & 0xFF));
                if (node < 0) break;
                if (value[node] != 0) {
                    best = (long) (i + 1 - pos) << 32 | (value[node] - 1);
                    found++;
                }
            }
            return best;
        }
    }
}
