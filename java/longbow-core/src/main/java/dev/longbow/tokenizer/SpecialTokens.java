package dev.longbow.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Finds special-token spellings ({@code <|im_start|>}, {@code <s>}) in text so they can be emitted as their ids
 * while the text between them goes through the normal tokenizer. Where two spellings start at the same place the
 * longest wins, as in llama.cpp and Hugging Face tokenizers.
 */
public final class SpecialTokens {
    /** Receives the text between special tokens and the special tokens themselves, in order. */
    public interface Sink {
        void text(String text, int start, int end);

        void special(int id);
    }

    private final String[] spellings; // longest first
    private final int[] ids;
    private final boolean[] firstChar = new boolean[65536];

    public SpecialTokens(Map<String, Integer> tokens) {
        List<Map.Entry<String, Integer>> list = new ArrayList<>();
        for (var e : tokens.entrySet()) if (!e.getKey().isEmpty()) list.add(e);
        list.sort(Comparator.comparingInt((Map.Entry<String, Integer> e) -> -e.getKey().length()).thenComparing(Map.Entry::getKey));
        spellings = new String[list.size()];
        ids = new int[list.size()];
        for (int i = 0; i < list.size(); i++) {
            spellings[i] = list.get(i).getKey();
            ids[i] = list.get(i).getValue();
            firstChar[spellings[i].charAt(0)] = true;
        }
    }

    public boolean isEmpty() {
        return spellings.length == 0;
    }

    /** Splits {@code text} at every special-token spelling, calling {@code sink} for each part. */
    public void split(String text, Sink sink) {
        int textStart = 0;
        for (int i = 0; i < text.length(); ) {
            int match = firstChar[text.charAt(i)] ? matchAt(text, i) : -1;
            if (match < 0) {
                i++;
                continue;
            }
            if (i > textStart) sink.text(text, textStart, i);
            sink.special(ids[match]);
            i += spellings[match].length();
            textStart = i;
        }
        if (textStart < text.length()) sink.text(text, textStart, text.length());
    }

    private int matchAt(String text, int at) {
        for (int k = 0; k < spellings.length; k++) if (text.startsWith(spellings[k], at)) return k;
        return -1;
    }

    @Override
    public String toString() {
        return "SpecialTokens" + Arrays.toString(spellings);
    }
}
