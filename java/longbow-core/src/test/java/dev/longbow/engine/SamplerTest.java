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

    @Test
    void badParametersAreUserErrors() {
        assertThrows(LongbowException.class, () -> new SamplerParams(-0.1f, 0, 1f, 0f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, -1, 1f, 0f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, 0, 1.5f, 0f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, 0, 1f, 1f, 1f, 64, 1));
        assertThrows(LongbowException.class, () -> new SamplerParams(1f, 0, 1f, 0f, 0f, 64, 1));
    }
}
