package dev.longbow.cuda.reference;

/** embed_f16's definition: out[t] = table[tokens[t]] widened to F32. */
public final class EmbedReference {
    private EmbedReference() {}

    public static float[] apply(short[] table, int dim, int[] tokens) {
        float[] out = new float[tokens.length * dim];
        for (int t = 0; t < tokens.length; t++) {
            for (int c = 0; c < dim; c++) out[t * dim + c] = F16.value(table[tokens[t] * dim + c]);
        }
        return out;
    }
}
