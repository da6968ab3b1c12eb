package dev.longbow.cuda.reference;

/** swiglu's definition: gate = gate / (1 + exp(-gate)) * up. */
public final class SwiGluReference {
    private SwiGluReference() {}

    public static void apply(float[] gate, float[] up) {
        for (int i = 0; i < gate.length; i++) gate[i] = (float) (gate[i] / (1 + Math.exp(-gate[i])) * up[i]);
    }
}
