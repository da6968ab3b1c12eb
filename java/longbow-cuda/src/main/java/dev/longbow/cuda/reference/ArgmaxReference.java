package dev.longbow.cuda.reference;

/** argmax's definition: the index of the largest value, the lowest index among equals; NaN never wins. */
public final class ArgmaxReference {
    private ArgmaxReference() {}

    public static int apply(float[] logits, int from, int length) {
        int best = 0;
        float v = Float.NEGATIVE_INFINITY;
        boolean any = false;
        for (int i = 0; i < length; i++) {
            float x = logits[from + i];
            if (Float.isNaN(x)) continue;
            if (!any || x > v) {
                v = x;
                best = i;
                any = true;
            }
        }
        return best;
    }
}
