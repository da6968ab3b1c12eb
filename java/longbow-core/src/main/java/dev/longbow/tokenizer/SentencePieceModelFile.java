package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A SentencePiece {@code tokenizer.model} (Llama 1/2, Mistral, TinyLlama): a serialized {@code ModelProto}, read with
 * a small protobuf wire-format reader that keeps only the fields tokenization depends on. Unknown fields are skipped
 * as protobuf requires; every varint and length is bounds-checked, so a damaged file fails with one line naming it.
 */
public record SentencePieceModelFile(List<Piece> pieces, TrainerSpec trainer, NormalizerSpec normalizer, NormalizerSpec denormalizer) {
    /** sentencepiece's TrainerSpec.ModelType values. */
    public static final int UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4;

    /** One vocabulary entry; {@code type} uses sentencepiece's numbering, which GGUF's token types share. */
    public record Piece(byte[] utf8, float score, int type) {
        public String text() {
            return new String(utf8, StandardCharsets.UTF_8);
        }
    }

    /** The trainer options that still matter when encoding; defaults are those of sentencepiece_model.proto. */
    public record TrainerSpec(int modelType, boolean byteFallback, boolean treatWhitespaceAsSuffix, int unkId, int bosId,
                              int eosId, int padId, String unkPiece, String bosPiece, String eosPiece, byte[] unkSurface) {}

    public record NormalizerSpec(String name, byte[] precompiledCharsMap, boolean addDummyPrefix, boolean removeExtraWhitespaces,
                                 boolean escapeWhitespaces) {}

    /**
     * Whether {@code head} (the first bytes of a file) can start a ModelProto: a protobuf tag for one of its first
     * fields. A tiktoken {@code tokenizer.model} (Llama 3) is text and starts with a base64 letter instead.
     */
    public static boolean looksLikeProtobuf(byte[] head) {
        if (head.length < 2) return false;
        int tag = head[0] & 0xFF;
        // Field 1 (pieces), 2 (trainer_spec), 3 (normalizer_spec), 4 (self_test_data) or 5 (denormalizer_spec), length-delimited.
        return tag == 0x0A || tag == 0x12 || tag == 0x1A || tag == 0x22 || tag == 0x2A;
    }

    public static SentencePieceModelFile parse(byte[] data, String name) {
        Wire in = new Wire(data, 0, data.length, name);
        List<Piece> pieces = new ArrayList<>();
        Trainer trainer = new Trainer();
        Normalizer normalizer = new Normalizer(), denormalizer = null;
        while (in.more()) {
            long tag = in.varint();
            int field = in.field(tag);
            switch (field) {
                case 1 -> pieces.add(piece(in.message(tag, "pieces"), pieces.size()));
                case 2 -> trainer.read(in.message(tag, "trainer_spec"));
                case 3 -> normalizer.read(in.message(tag, "normalizer_spec"));
                case 5 -> {
                    if (denormalizer == null) denormalizer = new Normalizer();
                    denormalizer.read(in.message(tag, "denormalizer_spec"));
                }
                default -> in.skip(tag);
            }
        }
        if (pieces.isEmpty()) throw new LongbowException(name + ": not a SentencePiece model (no pieces)");
        return new SentencePieceModelFile(List.copyOf(pieces), trainer.spec(), normalizer.spec(), denormalizer == null ? null : denormalizer.spec());
    }

    private static Piece piece(Wire in, int index) {
        byte[] text = new byte[0];
        float score = 0f;
        int type = SentencePieceBpe.NORMAL;
        while (in.more()) {
            long tag = in.varint();
            switch (in.field(tag)) {
                case 1 -> text = in.bytes(tag, "piece");
                case 2 -> score = in.fixed32(tag, "score");
                case 3 -> {
                    long t = in.integer(tag, "type");
                    if (t < SentencePieceBpe.NORMAL || t > SentencePieceBpe.BYTE) {
                        throw new LongbowException(in.name + ": piece " + index + " has unknown type " + t);
                    }
                    type = (int) t;
                }
                default -> in.skip(tag);
            }
        }
        return new Piece(text, score, type);
    }

    private static final class Trainer {
        int modelType = UNIGRAM, unkId = 0, bosId = 1, eosId = 2, padId = -1;
        boolean byteFallback, treatWhitespaceAsSuffix;
        String unkPiece = "<unk>", bosPiece = "<s>", eosPiece = "</s>";
        byte[] unkSurface = " \u2047 ".getBytes(StandardCharsets.UTF_8);

        void read(Wire in) {
            while (in.more()) {
                long tag = in.varint();
                switch (in.field(tag)) {
                    case 3 -> modelType = (int) in.integer(tag, "model_type");
                    case 24 -> treatWhitespaceAsSuffix = in.integer(tag, "treat_whitespace_as_suffix") != 0;
                    case 35 -> byteFallback = in.integer(tag, "byte_fallback") != 0;
                    case 40 -> unkId = (int) in.integer(tag, "unk_id");
                    case 41 -> bosId = (int) in.integer(tag, "bos_id");
                    case 42 -> eosId = (int) in.integer(tag, "eos_id");
                    case 43 -> padId = (int) in.integer(tag, "pad_id");
                    case 44 -> unkSurface = in.bytes(tag, "unk_surface");
                    case 45 -> unkPiece = in.string(tag, "unk_piece");
                    case 46 -> bosPiece = in.string(tag, "bos_piece");
                    case 47 -> eosPiece = in.string(tag, "eos_piece");
                    default -> in.skip(tag);
                }
            }
        }

        TrainerSpec spec() {
            return new TrainerSpec(modelType, byteFallback, treatWhitespaceAsSuffix, unkId, bosId, eosId, padId,
                    unkPiece.isEmpty() ? "<unk>" : unkPiece, bosPiece.isEmpty() ? "<s>" : bosPiece, eosPiece.isEmpty() ? "</s>" : eosPiece, unkSurface);
        }
    }

    private static final class Normalizer {
        String name = "";
        byte[] charsMap = new byte[0];
        boolean addDummyPrefix = true, removeExtraWhitespaces = true, escapeWhitespaces = true;

        void read(Wire in) {
            while (in.more()) {
                long tag = in.varint();
                switch (in.field(tag)) {
                    case 1 -> name = in.string(tag, "name");
                    case 2 -> charsMap = in.bytes(tag, "precompiled_charsmap");
                    case 3 -> addDummyPrefix = in.integer(tag, "add_dummy_prefix") != 0;
                    case 4 -> removeExtraWhitespaces = in.integer(tag, "remove_extra_whitespaces") != 0;
                    case 5 -> escapeWhitespaces = in.integer(tag, "escape_whitespaces") != 0;
                    default -> in.skip(tag);
                }
            }
        }

        NormalizerSpec spec() {
            return new NormalizerSpec(name, charsMap, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces);
        }
    }

    /** A bounds-checked cursor over one protobuf message, {@code data[pos, end)}. */
    private static final class Wire {
        private static final int VARINT = 0, FIXED64 = 1, LENGTH = 2, FIXED32 = 5;
        final byte[] data;
        final String name;
        int pos;
        final int end;

        Wire(byte[] data, int pos, int end, String name) {
            this.data = data;
            this.pos = pos;
            this.end = end;
            this.name = name;
        }

        boolean more() {
            return pos < end;
        }

        long varint() {
            long value = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) throw broken("truncated varint at byte " + pos);
                int b = data[pos++];
                value |= (long) (b & 0x7F) << shift;
                if (b >= 0) return value;
            }
            throw broken("varint longer than 10 bytes at byte " + pos);
        }

        int field(long tag) {
            long field = tag >>> 3;
            if (field == 0 || field > 0x1FFFFFFF) throw broken("bad field number " + field + " at byte " + pos);
            return (int) field;
        }

        private void expect(long tag, int wireType, String what) {
            if ((tag & 7) != wireType) throw broken(what + " has wire type " + (tag & 7) + ", expected " + wireType);
        }

        long integer(long tag, String what) {
            expect(tag, VARINT, what);
            return varint();
        }

        float fixed32(long tag, String what) {
            expect(tag, FIXED32, what);
            need(4, what);
            int bits = (data[pos] & 0xFF) | (data[pos + 1] & 0xFF) << 8 | (data[pos + 2] & 0xFF) << 16 | (data[pos + 3] & 0xFF) << 24;
            pos += 4;
            return Float.intBitsToFloat(bits);
        }

        private int length(String what) {
            long n = varint();
            if (n < 0 || n > end - pos) throw broken(what + " of " + n + " bytes runs past the end of its message");
            return (int) n;
        }

        byte[] bytes(long tag, String what) {
            expect(tag, LENGTH, what);
            int n = length(what);
            byte[] b = java.util.Arrays.copyOfRange(data, pos, pos + n);
            pos += n;
            return b;
        }

        String string(long tag, String what) {
            return new String(bytes(tag, what), StandardCharsets.UTF_8);
        }

        Wire message(long tag, String what) {
            expect(tag, LENGTH, what);
            int n = length(what);
            Wire sub = new Wire(data, pos, pos + n, name);
            pos += n;
            return sub;
        }

        void skip(long tag) {
            switch ((int) (tag & 7)) {
                case VARINT -> varint();
                case FIXED64 -> {
                    need(8, "field " + (tag >>> 3));
                    pos += 8;
                }
                case LENGTH -> {
                    int n = length("field " + (tag >>> 3)); // read before adding: length() moves pos
                    pos += n;
                }
                case FIXED32 -> {
                    need(4, "field " + (tag >>> 3));
                    pos += 4;
                }
                default -> throw broken("unsupported wire type " + (tag & 7) + " at byte " + pos);
            }
        }

        private void need(int n, String what) {
            if (end - pos < n) throw broken("truncated " + what + " at byte " + pos);
        }

        private LongbowException broken(String problem) {
            return new LongbowException(name + ": not a valid SentencePiece model: " + problem);
        }
    }
}
