package dev.longbow.cuda.reference;

import dev.longbow.engine.Sampler;
import dev.longbow.engine.SamplerParams;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The device sampler's reference picks what the CPU sampler (dev.longbow.engine.Sampler) picks, draw for draw: the
 * same logits, parameters and the same stream of u (llama2.c's xorshift64* from the seed, reproduced here), over
 * 150 draws per setting, with tied logits in every row.
 */
class SampleReferenceMatchesSamplerTest {
    /** Sampler's generator: xorshift64*, the top 24 bits of the high word as a float in [0, 1). */
    static final class Draws {
        long state;

        Draws(long seed) {
            state = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
        }

        float next() {
            state ^= state >>> 12;
            state ^= state << 25;
            state ^= state >>> 27;
            int u32 = (int) ((state * 0x2545F4914F6CDD1DL) >>> 32);
            return (u32 >>> 8) / 16777216.0f;
        }
    }

    @ParameterizedTest
    @CsvSource({"512,40,0.8,0.9,0", "512,1,1.0,1.0,0", "32000,256,1.2,0.95,0.05", "32000,50,0.7,1.0,0.1", "100,256,2.0,0.5,0"})
    void sameTokensAsTheCpuSampler(int vocab, int topK, float temperature, float topP, float minP) {
        long seed = vocab * 31L + topK;
        Sampler cpu = new Sampler(new SamplerParams(temperature, topK, topP, minP, 1f, 64, seed));
        Draws draws = new Draws(seed);
        Random r = new Random(seed);
        for (int i = 0; i < 150; i++) {
            float[] logits = new float[vocab];
            for (int j = 0; j < vocab; j++) logits[j] = (float) (r.nextGaussian() * 3);
            logits[r.nextInt(vocab)] = logits[r.nextInt(vocab)]; // a tie
            int expected = cpu.sample(logits, new int[0], 0);
            assertEquals(expected, SampleReference.apply(logits, topK, temperature, topP, minP, draws.next()), "draw " + i);
        }
    }
}
