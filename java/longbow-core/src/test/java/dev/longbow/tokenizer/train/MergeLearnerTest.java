package dev.longbow.tokenizer.train;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MergeLearnerTest {
    /** Words as characters over an alphabet sorted by code point, as Hugging Face's trainer lays it out. */
    static MergeLearner.Result learn(Map<String, Long> wordCounts, int vocabSize, long minFrequency) {
        TreeSet<String> chars = new TreeSet<>();
        for (String w : wordCounts.keySet()) w.codePoints().forEach(cp -> chars.add(Character.toString(cp)));
        List<String> alphabet = new ArrayList<>(chars);
        int[][] words = new int[wordCounts.size()][];
        long[] counts = new long[wordCounts.size()];
        int i = 0;
        for (var e : wordCounts.entrySet()) {
            words[i] = e.getKey().codePoints().map(cp -> alphabet.indexOf(Character.toString(cp))).toArray();
            counts[i++] = e.getValue();
        }
        return new MergeLearner(alphabet, Set.of(), words, counts).learn(vocabSize, minFrequency, null);
    }

    static List<String> mergeStrings(MergeLearner.Result r) {
        List<String> out = new ArrayList<>();
        for (int[] m : r.merges()) out.add(r.tokens().get(m[0]) + " " + r.tokens().get(m[1]));
        return out;
    }

    @Test
    void sennrichExampleMergesInTheOrderWorkedOutByHand() {
        // Sennrich et al.'s dictionary, without the end-of-word marker. Counts: es 9, st 9 (tie: e < s), then est 9,
        // lo 7 and ow 7 (l < o), low 7, then ne 6 / ew 6 / w+est 6 where ew has the lowest left id (e), and so on.
        Map<String, Long> words = new TreeMap<>(Map.of("low", 5L, "lower", 2L, "newest", 6L, "widest", 3L));
        MergeLearner.Result r = learn(words, 100, 0);
        assertEquals(List.of("e s", "es t", "l o", "lo w", "e w", "n ew", "new est", "d est", "i dest", "w idest", "e r", "low er"),
                mergeStrings(r));
    }

    @Test
    void huggingFaceTrainerToyExampleGivesTheSameIds() {
        // The word counts of the unit test in Hugging Face tokenizers' bpe/trainer.rs, min frequency 2: its result is
        // the 22 characters by code point, then "re" = 22 (r 17 + e 11), "are" = 23 (a 8 + re 22), "is" = 24 (i 13 + s 18).
        Map<String, Long> words = new TreeMap<>();
        words.put("roses", 1L);
        words.put("are", 2L);
        words.put("red", 1L);
        words.put("voilets", 1L);
        words.put("blue", 1L);
        words.put("BERT", 1L);
        words.put("is", 2L);
        words.put("big", 1L);
        words.put("and", 1L);
        words.put("so", 1L);
        words.put("GPT-2", 1L);
        MergeLearner.Result r = learn(words, 30000, 2);
        assertEquals(25, r.tokens().size());
        assertEquals("-", r.tokens().get(0));
        assertEquals("v", r.tokens().get(21));
        assertEquals(List.of("re", "are", "is"), r.tokens().subList(22, 25));
        assertEquals(List.of(List.of(17, 11, 22), List.of(8, 22, 23), List.of(13, 18, 24)),
                r.merges().stream().map(m -> List.of(m[0], m[1], m[2])).toList());
    }

    @Test
    void repeatedSymbolsMergeLeftToRightWithoutOverlap() {
        // "aaaa" x3 and "aaa" x1: pair (a,a) occurs 3+3+3+2 = 11 times. After merging, "aaaa" is [aa, aa] and
        // "aaa" is [aa, a]; the next merges are aa+aa (3) and then aa+a (1, allowed at min frequency 1).
        MergeLearner.Result r = learn(new TreeMap<>(Map.of("aaaa", 3L, "aaa", 1L)), 100, 1);
        assertEquals(List.of("a a", "aa aa", "aa a"), mergeStrings(r));
        assertEquals(1L, r.lastCount());
    }

    @Test
    void aMergeThatSpellsAnExistingTokenReusesItsId() {
        // "abc" reached twice, as a+bc and as ab+c (Hugging Face keeps both merges and one token, so must we).
        List<String> initial = List.of("a", "ab", "bc", "c");
        int[][] words = {{0, 2}, {1, 3}};
        long[] counts = {10, 5};
        MergeLearner.Result r = new MergeLearner(initial, Set.of(), words, counts).learn(100, 1, null);
        assertEquals(List.of("a bc", "ab c"), mergeStrings(r));
        assertEquals(List.of("a", "ab", "bc", "c", "abc"), r.tokens());
        assertEquals(4, r.merges().get(0)[2]);
        assertEquals(4, r.merges().get(1)[2]);
    }

    @Test
    void aMergeSpellingAReservedTokenIsSkipped() {
        // "<s>" is a special token: "<s" + ">" would spell it, so that pair is never merged though it is the most
        // frequent after "<s"; "s s" comes next.
        List<String> alphabet = List.of("<s>", "<", ">", "s");
        int[][] words = {{1, 3, 2}, {3, 3}};
        long[] counts = {50, 2};
        MergeLearner.Result r = new MergeLearner(alphabet, Set.of("<s>"), words, counts).learn(100, 1, null);
        assertEquals(List.of("< s", "s s"), mergeStrings(r));
    }
}
