package dev.longbow.tokenizer;

/** Text to token ids and back. Implementations are immutable and safe to share between threads. */
public interface Tokenizer {
    int vocabSize();

    int bos();

    int eos();

    /** Token ids of {@code text}, preceded by BOS when {@code bos}. */
    int[] encode(String text, boolean bos);

    /** The vocabulary entry of {@code id} as stored (for display; not decoded). */
    String piece(int id);

    /** A new streaming decoder for one sequence. */
    TokenDecoder decoder();

    /** Whether generating {@code id} ends the text. */
    boolean isEndOfText(int id);
}
