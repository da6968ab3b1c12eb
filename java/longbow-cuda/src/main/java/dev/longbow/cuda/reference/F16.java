package dev.longbow.cuda.reference;

/** IEEE half precision as the kernels store it (round to nearest even), for the references' inputs. */
public final class F16 {
    private F16() {}

    public static short of(float f) {
        return Float.floatToFloat16(f);
    }

    public static float value(short h) {
        return Float.float16ToFloat(h);
    }

    public static float round(float f) {
        return value(of(f));
    }

    public static short[] of(float[] a) {
        short[] out = new short[a.length];
        for (int i = 0; i < a.length; i++) out[i] = of(a[i]);
        return out;
    }
}
