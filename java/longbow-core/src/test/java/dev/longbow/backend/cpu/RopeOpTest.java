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

    private static float[] rotate(CpuOps ops, Rope rope, int pos) {
        CpuAct x = (CpuAct) ops.allocate(1, rope.headDim());
        for (int i = 0; i < rope.headDim(); i++) x.data()[i] = 0.5f + i;
        ops.rope(x, 1, rope, pos, 1);
        return x.data().clone();
    }
}
