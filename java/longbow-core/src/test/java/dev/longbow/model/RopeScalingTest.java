package dev.longbow.model;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every RoPE scaling method against tables from scripts/rope-goldens/rope_goldens.py (numpy re-implementation of
 * transformers' modeling_rope_utils, float32 where it is float32), each value within a relative 2e-6 (a few
 * float32 ulps: Java's double pow rounded to float against numpy's powf), plus properties checkable by hand.
 */
class RopeScalingTest {
    static final double RELATIVE = 2e-6;

    @Test
    void matchesTransformersFormulas() throws Exception {
        String text = Files.readString(TestData.root().resolve("java/longbow-core/src/test/resources/rope/goldens.json"));
        List<?> cases = (List<?>) Json.parse(text);
        int compared = 0;
        double worst = 0;
        for (Object o : cases) {
            @SuppressWarnings("unchecked") Map<String, Object> c = (Map<String, Object>) o;
            RopeScaling rs = scaling(c);
            int dim = (int) (long) Json.getLong(c, "head_dim");
            RopeScaling.Table t = rs.table(dim, (float) (double) Json.getDouble(c, "base"), (int) (long) Json.getLong(c, "seq_len"));
            List<?> expected = (List<?>) c.get("inv_freq");
            String what = Json.write(Map.of("method", c.get("method"), "head_dim", dim, "seq_len", c.get("seq_len")));
            assertEquals(expected.size(), t.inverseFrequencies().length, what);
            for (int i = 0; i < expected.size(); i++) {
                double e = ((Number) expected.get(i)).doubleValue();
                double rel = Math.abs(t.inverseFrequencies()[i] - e) / Math.abs(e);
                worst = Math.max(worst, rel);
                assertTrue(rel <= RELATIVE, what + " pair " + i + ": " + t.inverseFrequencies()[i] + " vs " + e);
                compared++;
            }
            for (String key : List.of("attention_factor", "attention_temperature")) {
                double e = Json.getDouble(c, key);
                double got = key.equals("attention_factor") ? t.attentionFactor() : t.attentionTemperature();
                double rel = Math.abs(got - e) / e;
                worst = Math.max(worst, rel);
                assertTrue(rel <= RELATIVE, what + " " + key + ": " + got + " vs " + e);
                compared++;
            }
        }
        assertTrue(cases.size() >= 25 && compared > 1500, "golden file too small: " + compared);
        System.out.printf("RopeScalingTest: %d cases, %d values, max relative error %.3g%n", cases.size(), compared, worst);
    }

    private static RopeScaling scaling(Map<String, Object> c) {
        float factor = c.containsKey("factor") ? (float) (double) Json.getDouble(c, "factor") : Float.NaN;
        int original = c.containsKey("original_ctx") ? (int) (long) Json.getLong(c, "original_ctx") : 0;
        return switch ((String) c.get("method")) {
            case "none" -> RopeScaling.NONE;
            case "linear" -> RopeScaling.linear(factor);
            case "ntk" -> RopeScaling.ntk(factor);
            case "dynamic" -> RopeScaling.dynamic(factor, original);
            case "yarn" -> RopeScaling.yarn(factor, original, number(c, "beta_fast", 32), number(c, "beta_slow", 1),
                    !Boolean.FALSE.equals(c.get("truncate")), Float.NaN, number(c, "mscale", 0), number(c, "mscale_all_dim", 0));
            case "llama3" -> RopeScaling.llama3(factor, number(c, "low_freq_factor", 0), number(c, "high_freq_factor", 0), original);
            case "longrope" -> RopeScaling.longrope(floats(c.get("short_factor")), floats(c.get("long_factor")),
                    Float.isNaN(factor) ? (float) (long) Json.getLong(c, "ctx") / original : factor, original, Float.NaN);
            case "elastic" -> RopeScaling.elastic(number(c, "elastic_gamma", 0.5f), number(c, "elastic_k", 0.7f), original);
            default -> throw new AssertionError(c.get("method"));
        };
    }

    private static float number(Map<String, Object> c, String key, float dflt) {
        Double v = Json.getDouble(c, key);
        return v == null ? dflt : (float) (double) v;
    }

    private static float[] floats(Object list) {
        List<?> l = (List<?>) list;
        float[] out = new float[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).floatValue();
        return out;
    }

    private static float[] inv(RopeScaling rs, int seqLen) {
        return rs.table(128, 10000f, seqLen).inverseFrequencies();
    }

    @Test
    void linearIsPlainDividedByFactor() {
        float[] plain = inv(RopeScaling.NONE, 0), linear = inv(RopeScaling.linear(4), 0);
        for (int i = 0; i < plain.length; i++) assertEquals(plain[i] / 4, linear[i]);
        assertEquals(1f, plain[0]);
        assertEquals(1.0 / Math.pow(10000, 126 / 128.0), plain[63], 1e-6 * plain[63]);
    }

    @Test
    void dynamicEqualsPlainUpToTheTrainedContext() {
        RopeScaling dynamic = RopeScaling.dynamic(4, 2048);
        for (int len : new int[]{0, 1, 100, 2048}) assertArrayEquals(inv(RopeScaling.NONE, 0), inv(dynamic, len));
        // Past it the base grows, so the lowest frequency falls while the highest stays 1.
        float[] longer = inv(dynamic, 4096);
        assertEquals(1f, longer[0]);
        assertTrue(longer[63] < inv(RopeScaling.NONE, 0)[63]);
    }

    @Test
    void elasticIsPlainUntilAbout2Point7TimesTheTrainedContext() {
        RopeScaling elastic = RopeScaling.elastic(RopeScaling.DEFAULT_ELASTIC_GAMMA, RopeScaling.DEFAULT_ELASTIC_K, 1000);
        double threshold = Math.pow(2, 1 / 0.7); // 0.5 * r^0.7 = 1
        assertEquals(2.69, threshold, 0.01);
        assertArrayEquals(inv(RopeScaling.NONE, 0), inv(elastic, (int) (1000 * threshold) - 1));
        assertTrue(inv(elastic, (int) (1000 * threshold) + 10)[63] < inv(RopeScaling.NONE, 0)[63]);
        assertEquals(1f, elastic.table(128, 10000f, 1000).attentionTemperature());
        assertEquals(1 + 0.1 * Math.log(2), elastic.table(128, 10000f, 2000).attentionTemperature(), 1e-6);
    }

    @Test
    void yarnAttentionFactorFollowsTheMscaleFormula() {
        for (float f : new float[]{2, 4, 8, 32}) {
            RopeScaling yarn = RopeScaling.yarn(f, 4096, 32, 1, true, Float.NaN, 0, 0);
            assertEquals(0.1 * Math.log(f) + 1, yarn.table(128, 10000f, 0).attentionFactor(), 1e-6);
        }
        RopeScaling given = RopeScaling.yarn(4, 4096, 32, 1, true, 1.5f, 0, 0);
        assertEquals(1.5f, given.table(128, 10000f, 0).attentionFactor());
        RopeScaling deepseek = RopeScaling.yarn(40, 4096, 32, 1, true, Float.NaN, 1, 1);
        assertEquals(1f, deepseek.table(128, 10000f, 0).attentionFactor(), 1e-6); // equal mscales cancel
        // High frequencies (pair 0) are kept, the lowest are fully interpolated.
        float[] plain = inv(RopeScaling.NONE, 0), yarn = inv(RopeScaling.yarn(4, 4096, 32, 1, true, Float.NaN, 0, 0), 0);
        assertEquals(plain[0], yarn[0]);
        assertEquals(plain[63] / 4, yarn[63], 1e-6 * yarn[63]);
    }

    @Test
    void badParametersAreOneLineErrors() {
        assertThrows(LongbowException.class, () -> RopeScaling.linear(0));
        assertThrows(LongbowException.class, () -> RopeScaling.ntk(-2));
        assertThrows(LongbowException.class, () -> RopeScaling.dynamic(2, 0));
        assertThrows(LongbowException.class, () -> RopeScaling.yarn(4, 4096, 0, 1, true, Float.NaN, 0, 0));
        assertThrows(LongbowException.class, () -> RopeScaling.elastic(0, 0.7f, 4096));
        LongbowException e = assertThrows(LongbowException.class,
                () -> RopeScaling.longrope(new float[3], new float[3], 2, 4096, Float.NaN).table(128, 10000f, 0));
        assertTrue(e.getMessage().contains("need 64 values"), e.getMessage());
    }

    @Test
    void longropeSwitchesToLongFactorsPastTheTrainedContext() {
        float[] longF = new float[64];
        java.util.Arrays.fill(longF, 2);
        float[] shortF = new float[64];
        java.util.Arrays.fill(shortF, 1);
        RopeScaling lr = RopeScaling.longrope(shortF, longF, 32, 4096, Float.NaN);
        assertTrue(lr.method().lengthDependent());
        assertArrayEquals(inv(RopeScaling.linear(2), 0), lr.table(128, 10000f, 4097).inverseFrequencies());
        assertArrayEquals(inv(RopeScaling.NONE, 0), lr.table(128, 10000f, 4096).inverseFrequencies());
    }
}
