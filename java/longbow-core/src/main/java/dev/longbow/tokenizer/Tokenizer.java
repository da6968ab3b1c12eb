package dev.longbow.tokenizer;

/** Text to token ids and back. Implementations are immutable and safe to share between threads. */
public interface Tokenizer {
    int vocabSize();

    /** The beginning-of-sequence id, or -1 when the vocabulary has none (GPT-2, Qwen2). */
    int bos();

    /** The end-of-sequence id, or -1 when there is none. */
    int eos();

    /** Token ids of {@code text}, preceded by BOS when {@code bos} (and the vocabulary has one); special tokens spelled in the text stay text. */
    default int[] encode(String text, boolean bos) {
        return encode(text, bos, false);
    }

    /**
     * Token ids of {@code text}, preceded by BOS when {@code bos}. With {@code parseSpecial}, special and control
     * tokens spelled out in the text ({@code <|im_start|>}, {@code <s>}) become their ids, as llama.cpp's
     * {@code parse_special} does; without it they are tokenized as ordinary text. Unpaired UTF-16 surrogates in
     * {@code text} are read as U+FFFD, as Rust's {@code String::from_utf16_lossy} (and so Hugging Face tokenizers) does.
     */
    int[] encode(String text, boolean bos, boolean parseSpecial);

    /** The vocabulary entry of {@code id} as stored (for display; not decoded). */
    String piece(int id);

    /** A new streaming decoder for one sequence. */
    TokenDecoder decoder();

    /** The text of a whole sequence of ids, as the reference implementation of this tokenizer kind decodes it. */
    default String decode(int[] ids) {
        TokenDecoder d = decoder();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(d.next(id));
        return sb.append(d.flush()).toString();
    }

    /** Whether generating {@code id} ends the text. */
    boolean isEndOfText(int id);

    /** This tokenizer with no token ending the text: for benchmarks and tests that want every token of their budget. */
    default Tokenizer withoutEndOfText() {
        Tokenizer t = this;
        return new Tokenizer() {
            public int vocabSize() { return t.vocabSize(); }
            public int bos() { return t.bos(); }
            public int eos() { return t.eos(); }
            public int[] encode(String text, boolean bos, boolean parseSpecial) { return t.encode(text, bos, parseSpecial); }
            public String piece(int id) { return t.piece(id); }
            public TokenDecoder decoder() { return t.decoder(); }
            public boolean isEndOfText(int id) { return false; }
        };
    }
}
