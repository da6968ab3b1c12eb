package dev.longbow.backend.cpu;

import dev.longbow.backend.Rope;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The rotary op: rotation by position, and YaRN's attention factor scaling cos and sin as Hugging Face applies it. */
class RopeOpTest {
    @Test
    void attentionFactorScalesTheRotatedVectorAndOneChangesNothing() {
        int headDim = 8, pos = 5;
        RopeScaling yarn = RopeScaling.yarn(4f, 512, 32f, 1f, true, Float.NaN, 0f, 0f); // attention factor derived: 0.1 ln(s) + 1
        RopeScaling.Table table = yarn.table(headDim, 10000f, 2048);
        assertEquals(0.1 * Math.log(4) + 1, table.attentionFactor(), 1e-6);
        try (CpuOps ops = new CpuOps(1)) {
            float[] plain = rotate(ops, new Rope(table.inverseFrequencies(), headDim, RotaryLayout.INTERLEAVED), pos);
            float[] scaled = rotate(ops, new Rope(table.inverseFrequencies(), headDim, RotaryLayout.INTERLEAVED, table.attentionFactor()), pos);
            for (int i = 0; i < headDim; i++) assertEquals(plain[i] * table.attentionFactor(), scaled[i], 1e-5f, "element " + i);
            // A factor of exactly 1 leaves every bit as it was (the run.c-exact path goes through the same code).
            float[] one = rotate(ops, new Rope(table.inverseFrequencies(), headDim, RotaryLayout.INTERLEAVED, 1f), pos);
            for (int i = 0; i < headDim; i++) assertEquals(Float.floatToIntBits(plain[i]), Float.floatToIntBits(one[i]));
        }
    }

    @Test
    void anglesStayAsRunCFormsThemWithinTheContextAndTurnDoubleFarPastIt() {
        int headDim = 64;
        float[] inv = RopeScaling.NONE.table(headDim, 10000f, 2048).inverseFrequencies();
        Rope rope = new Rope(inv, headDim, RotaryLayout.INTERLEAVED);
        try (CpuOps ops = new CpuOps(1)) {
            for (int pos : new int[]{0, 7, 4095, Rope.DOUBLE_ANGLE_POSITION - 1}) {
                float[] x = rotate(ops, rope, pos);
                for (int i = 0; i < headDim / 2; i++) {
                    float angle = pos * inv[i]; // run.c's float product
                    float c = (float) Math.cos(angle), sn = (float) Math.sin(angle), x0 = 0.5f + 2 * i, x1 = 1.5f + 2 * i;
                    assertEquals(Float.floatToIntBits(x0 * c - x1 * sn), Float.floatToIntBits(x[2 * i]), "position " + pos + " pair " + i);
                }
            }
            for (int pos : new int[]{Rope.DOUBLE_ANGLE_POSITION, 1_000_003, 2_000_000_000}) {
                float[] x = rotate(ops, rope, pos);
                for (int i = 0; i < headDim / 2; i++) {
                    double angle = pos * (double) inv[i], x0 = 0.5 + 2 * i, x1 = 1.5 + 2 * i;
                    // cos and sin rounded to float: a few ulps of the element, where a float angle would be off by up to 60 rad.
                    assertEquals(x0 * Math.cos(angle) - x1 * Math.sin(angle), x[2 * i], 1e-6 * (x0 + x1), "position " + pos + " pair " + i);
                    assertEquals(x0 * Math.sin(angle) + x1 * Math.cos(angle), x[2 * i + 1], 1e-6 * (x0 + x1), "position " + pos + " pair " + i);
                }
            }
        }
    }

    private static float[] rotate(CpuOps ops, Rope rope, int pos) {
        CpuAct x = (CpuAct) ops.allocate(1, rope.headDim());
        for (int i = 0; i < rope.headDim(); i++) x.data()[i] = 0.5f + i;
        ops.rope(x, 1, rope, pos, 1);
        return x.data().clone();
    }
}
