package dev.longbow.tokenizer;

/**
 * Splits text into the pieces that byte-level BPE merges within (words, numbers, punctuation runs, whitespace), as
 * the split regex of GPT-2, Llama 3 or Qwen2 does. Pieces cover the text exactly, in order.
 */
public interface PreTokenizer {
    /** Receives one piece, {@code text[start, end)}. */
    interface Sink {
        void piece(CharSequence text, int start, int end);
    }

    /** Calls {@code sink} for each piece of {@code text[start, end)}. */
    void split(CharSequence text, int start, int end, Sink sink);
}
