package dev.longbow.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes float values into a {@link WeightType}'s bytes, with the same numerics as GGML's reference quantizers
 * (quantize_row_q8_0_ref, quantize_row_q4_0_ref, and for the K-quants those in {@link KQuants}) so a file written here
 * is bit-identical to one llama.cpp writes.
 */
public final class Quantizer {
    private Quantizer() {}

    public static byte[] encode(WeightType type, float[] x) {
        if (x.length % type.blockSize != 0) {
            throw new IllegalArgumentException(type + " needs a multiple of " + type.blockSize + " values, got " + x.length);
        }
        ByteBuffer out = ByteBuffer.allocate((int) type.bytesFor(x.length)).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> {
                for (float v : x) out.putFloat(v);
            }
            case F16 -> {
                for (float v : x) out.putShort(Float.floatToFloat16(v));
            }
            case BF16 -> {
                for (float v : x) out.putShort(Tensor.floatToBf16(v));
            }
            case Q8_0 -> {
                for (int b = 0; b < x.length; b += 32) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
                    float d = amax / 127f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.putShort(Float.floatToFloat16(d));
                    for (int j = 0; j < 32; j++) out.put((byte) roundf(x[b + j] * id));
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < x.length; b += 32) {
                    float amax = 0, max = 0;
                    for (int j = 0; j < 32; j++) {
                        float v = x[b + j];
                        if (amax < Math.abs(v)) {
                            amax = Math.abs(v);
                            max = v;
                        }
                    }
                    float d = max / -8f;
                    float id = d != 0 ? 1f / d : 0f;
                    out.putShort(Float.floatToFloat16(d));
                    for (int j = 0; j < 16; j++) {
                        // (int8_t)(v + 8.5f) truncates toward zero, as the C cast does.
                        int q0 = Math.min(15, (byte) (int) (x[b + j] * id + 8.5f));
                        int q1 = Math.min(15, (byte) (int) (x[b + 16 + j] * id + 8.5f));
                        out.put((byte) (q0 | (q1 << 4)));
                    }
                }
            }
            case Q4_K -> KQuants.encodeQ4K(x, out.array());
            case Q5_K -> KQuants.encodeQ5K(x, out.array());
            case Q6_K -> KQuants.encodeQ6K(x, out.array());
        }
        return out.array();
    }

    /** C's roundf: halves away from zero (Math.round rounds -2.5 to -2). */
    static int roundf(float v) {
        int r = (int) Math.floor(Math.abs((double) v) + 0.5);
        return v < 0 ? -r : r;
    }
}
