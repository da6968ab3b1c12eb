package dev.longbow.engine;

import dev.longbow.LongbowException;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    static final float[] LOGITS = {2.0f, 1.0f, 0.5f, -1.0f, 3.0f, 3.0f};

    static Map<Integer, Integer> histogram(SamplerParams p, int draws) {
        Sampler s = new Sampler(p);
        Map<Integer, Integer> h = new HashMap<>();
        for (int i = 0; i < draws; i++) h.merge(s.sample(LOGITS, new int[0], 0), 1, Integer::sum);
        return h;
    }

    @Test
    void greedyTakesTheFirstMaximum() {
        assertEquals(4, new Sampler(SamplerParams.GREEDY).sample(LOGITS, new int[0], 0));
    }

    @Test
    void sameSeedSameDraws() {
        SamplerParams p = new SamplerParams(1f, 0, 1f, 0f, 1f, 64, 123);
        Sampler a = new Sampler(p), b = new Sampler(p);
        for (int i = 0; i < 200; i++) assertEquals(a.sample(LOGITS, new int[0], 0), b.sample(LOGITS, new int[0], 0));
    }

    @Test
    void temperatureOneFollowsTheSoftmax() {
        Map<Integer, Integer> h = histogram(new SamplerParams(1f, 0, 1f, 0f, 1f, 64, 9), 60000);
        double z = 0;
        for (float l : LOGITS) z += Math.exp(l);
        for (int i = 0; i < LOGITS.length; i++) {
            double expected = Math.exp(LOGITS[i]) / z;
            double seen = h.getOrDefault(i, 0) / 60000.0;
            assertEquals(expected, seen, 0.01, "token " + i);
        }
    }

    @Test
    void filtersKeepOnlyTheirCandidates() {
        // top-k 3: ids 4, 5 (tied, lower id first) and 0.
        assertEquals(java.util.Set.of(0, 4, 5), histogram(new SamplerParams(1f, 3, 1f, 0f, 1f, 64, 1), 5000).keySet());
        // top-p 0.7: 4 and 5 hold 2 x 0.39 = 0.78 of the mass, so nothing else survives.
        assertEquals(java.util.Set.of(4, 5), histogram(new SamplerParams(1f, 0, 0.7f, 0f, 1f, 64, 1), 5000).keySet());
        // min-p 0.3: keep p >= 0.3 * p_max, i.e. logit >= 3 + ln 0.3 = 1.80: ids 4, 5, 0.
        assertEquals(java.util.Set.of(0, 4, 5), histogram(new SamplerParams(1f, 0, 1f, 0.3f, 1f, 64, 1), 5000).keySet());
    }

    @Test
    void repetitionPenaltyDemotesRecentTokens() {
        SamplerParams p = new SamplerParams(0f, 0, 1f, 0f, 2f, 64, 1);
        // 4 and 5 were just generated: 3.0 / 2 = 1.5 falls below token 0's 2.0.
        assertEquals(0, new Sampler(p).sample(LOGITS, new int[]{4, 5}, 2));
        // Outside the window, no penalty.
        SamplerParams narrow = new SamplerParams(0f, 0, 1f, 0f, 2f, 1, 1);
        assertEquals(4, new Sampler(narrow).sample(LOGITS, new int[]{4, 0}, 2));
    }

    /**
     * The sampler as first written: every candidate boxed and sorted with a comparator, a copy of the logits and a
     * fresh seen-set per penalized token. The fast one must draw exactly the same tokens.
     */
    private static final class Reference {
        private final SamplerParams p;
        private long state;

        Reference(SamplerParams p) {
            this.p = p;
            this.state = p.seed() == 0 ? 0x9E3779B97F4A7C15L : p.seed();
        }

        int sample(float[] logits, int[] history, int historyLength) {
            if (p.repetitionPenalty() != 1f && p.repetitionWindow() > 0) {
                logits = logits.clone();
                boolean[] seen = new boolean[logits.length];
                for (int i = Math.max(0, historyLength - p.repetitionWindow()); i < historyLength; i++) {
                    int t = history[i];
                    if (t < 0 || t >= logits.length || seen[t]) continue;
                    seen[t] = true;
                    logits[t] = logits[t] > 0 ? logits[t] / p.repetitionPenalty() : logits[t] * p.repetitionPenalty();
                }
            }
            if (p.temperature() == 0f) return Sampler.argmax(logits);
            int n = logits.length;
            Integer[] order = new Integer[n];
            float[] probs = new float[n];
            for (int i = 0; i < n; i++) order[i] = i;
            float[] l = logits;
            java.util.Arrays.sort(order, (a, b) -> l[a] != l[b] ? Float.compare(l[b], l[a]) : Integer.compare(a, b));
            int keep = p.topK() > 0 ? Math.min(p.topK(), n) : n;
            float max = logits[order[0]] / p.temperature();
            double sum = 0;
            for (int i = 0; i < keep; i++) {
                probs[i] = (float) Math.exp(logits[order[i]] / p.temperature() - max);
                sum += probs[i];
            }
            if (p.topP() < 1f) {
                double cum = 0;
                for (int i = 0; i < keep; i++) {
                    cum += probs[i] / sum;
                    if (cum >= p.topP()) {
                        keep = i + 1;
                        break;
                    }
                }
            }
            if (p.minP() > 0f) {
                float threshold = probs[0] * p.minP();
                int k = 1;
                while (k < keep && probs[k] >= threshold) k++;
                keep = k;
            }
            double total = 0;
            for (int i = 0; i < keep; i++) total += probs[i];
            state ^= state >>> 12;
            state ^= state << 25;
            state ^= state >>> 27;
            double r = ((int) ((state * 0x2545F4914F6CDD1DL) >>> 32) >>> 8) / 16777216.0f * total;
            double cdf = 0;
            for (int i = 0; i < keep; i++) {
                cdf += probs[i];
                if (r < cdf) return order[i];
            }
            return order[keep - 1];
        }
    }

    @Test
    void drawsExactlyWhatTheStraightforwardSamplerDraws() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        SamplerParams[] settings = {
                new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1f, 64, 11), new SamplerParams(1f, 0, 1f, 0f, 1f, 64, 12),
                new SamplerParams(1f, 0, 0.9f, 0f, 1f, 64, 13), new SamplerParams(0.7f, 5, 1f, 0.2f, 1.3f, 16, 14),
                new SamplerParams(1.5f, 1, 1f, 0f, 1f, 64, 15), new SamplerParams(0.5f, 1000, 0.5f, 0f, 0.8f, 64, 0),
        };
        for (SamplerParams p : settings) {
            for (int vocab : new int[]{7, 512, 1000}) {
                Sampler fast = new Sampler(p);
                Reference slow = new Reference(p);
                int[] history = new int[40];
                for (int draw = 0; draw < 300; draw++) {
                    float[] logits = new float[vocab];
                    for (int i = 0; i < vocab; i++) {
                        // Coarse values so that ties are common, with signed zeros and negatives among them.
                        logits[i] = switch (r.nextInt(4)) {
                            case 0 -> r.nextInt(9) - 4;
                            case 1 -> r.nextBoolean() ? 0f : -0f;
                            default -> (float) (r.nextGaussian() * 2);
                        };
                    }
                    for (int i = 0; i < history.length; i++) history[i] = r.nextInt(vocab);
                    int len = r.nextInt(history.length + 1);
                    assertEquals(slow.sample(logits, history, len), fast.sample(logits, history, len), p + ", vocab " + vocab + ", draw " + draw);
                }
            }
        }
    }

    @Test
    void samplingAllocatesNothingOnceWarm() {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        float[] logits = new float[32000];
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian();
        int[] history = new int[100];
        for (SamplerParams p : new SamplerParams[]{new SamplerParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 64, 1),
                new SamplerParams(1f, 0, 0.9f, 0f, 1f, 64, 1).withPenalties(0.5f, 0.5f).withLogitBias(LogitBias.of(Map.of(7, 2f, 9, -3f)))}) {
            Sampler s = new Sampler(p);
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 20 && best > 0; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 50; i++) s.sample(logits, history, history.length);
                best = Math.min(best, threads.getCurrentThreadAllocatedBytes() - before);
            }
            assertEquals(0, best, p + ": bytes allocated per 50 samples");
        }
    }

    @Test
    void presenceAndFrequencyPenalizeGeneratedTokensOnly() {
        // LOGITS: 4 and 5 tie at 3.0 (4 wins greedy), then 0 at 2.0.
        int[] history = {4, 4, 5, 4, 4}; // a prompt of two tokens, then 5, 4, 4 generated
        // Frequency 0.4: token 4 generated twice loses 0.8 (2.2), token 5 once loses 0.4 (2.6): 5 wins; the prompt's
        // two 4s do not count, or 4 would have lost 1.6.
        assertEquals(5, new Sampler(SamplerParams.GREEDY.withPenalties(0f, 0.4f), 2).sample(LOGITS, history, 5));
        // Presence 0.5: 4 and 5 both lose 0.5 (2.5 each); 4 is first of the tie.
        assertEquals(4, new Sampler(SamplerParams.GREEDY.withPenalties(0.5f, 0f), 2).sample(LOGITS, history, 5));
        // Presence 1.2: both fall to 1.8, below token 0's 2.0.
        assertEquals(0, new Sampler(SamplerParams.GREEDY.withPenalties(1.2f, 0f), 2).sample(LOGITS, history, 5));
        // Counted as the history grows, one call at a time: the same answer as counting at once.
        Sampler s = new Sampler(SamplerParams.GREEDY.withPenalties(0f, 0.6f), 2);
        for (int len = 2; len < 5; len++) s.sample(LOGITS, history, len);
        assertEquals(5, s.sample(LOGITS, history, 5), "4 (twice) at 1.8, 5 (once) at 2.4");
        assertEquals(0, s.sample(LOGITS, new int[]{4, 4, 5, 4, 4, 5, 5}, 7), "4 at 1.8, 5 (three times) at 1.2: 0 at 2.0 wins");
        assertThrows(LongbowException.class, () -> SamplerParams.GREEDY.withPenalties(2.5f, 0f));
        assertThrows(LongbowException.class, () -> SamplerParams.GREEDY.withPenalties(0f, Float.NaN));
    }

    @Test
    void logitBiasShiftsTheChosenTokensFirst() {
        // LOGITS: 4 and 5 at 3.0, 0 at 2.0.
        assertEquals(0, new Sampler(SamplerParams.GREEDY.withLogitBias(LogitBias.of(Map.of(0, 1.5f)))).sample(LOGITS, new int[0], 0));
        assertEquals(5, new Sampler(SamplerParams.GREEDY.withLogitBias(LogitBias.of(Map.of(4, -100f)))).sample(LOGITS, new int[0], 0));
        // A token id beyond this vocabulary changes nothing.
        assertEquals(4, new Sampler(SamplerParams.GREEDY.withLogitBias(LogitBias.of(Map.of(50, 100f)))).sample(LOGITS, new int[0], 0));
        // Sampling at temperature 1 never draws a banned token.
        SamplerParams banned = new SamplerParams(1f, 0, 1f, 0f, 1f, 64, 3).withLogitBias(LogitBias.of(Map.of(4, -100f, 5, -100f)));
        Sampler s = new Sampler(banned);
        for (int i = 0; i < 2000; i++) assertTrue(s.sample(LOGITS, new int[0], 0) < 4);
        assertThrows(LongbowException.class, () -> LogitBias.of(Map.of(1, 101f)));
    }

    @Test
    void badParametersAreUserErrors() {
        assertThrows(LongbowException.class, () -> new SamplerParams(-0.1f, 0, 1f, 0f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, -1, 1f, 0f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, 0, 1.5f, 0f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, 0, 1f, 1f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, 0, 1f, 0f, 0f, 64, 1));
    }
}
