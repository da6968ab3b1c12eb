package dev.longbow.cuda.reference;

import dev.longbow.backend.Act;
import dev.longbow.backend.Attention;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;
import dev.longbow.backend.Ops;
import dev.longbow.backend.Rope;
import dev.longbow.backend.cpu.CpuOps;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels' references are the model's semantics: each against the CPU backend's op (CpuOps, which the forward
 * pass and the llama2.c goldens run on). Runs everywhere, GPU or not, so a kernel that matches its reference on a
 * GPU matches the CPU path. Tolerances: 1e-5 of the largest value (float vs double evaluation orders).
 */
class ReferencesMatchCpuOpsTest {
    static CpuOps ops;
    static Arena arena;

    @BeforeAll
    static void open() {
        ops = new CpuOps(1);
        arena = Arena.ofShared();
    }

    @AfterAll
    static void close() {
        ops.close();
        arena.close();
    }

    static Tensor f32(float[] data, int rows, int cols) {
        MemorySegment s = arena.allocate(4L * data.length, 16);
        for (int i = 0; i < data.length; i++) s.setAtIndex(JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, data[i]);
        return new Tensor("t", WeightType.F32, new long[]{rows, cols}, s);
    }

    /** An activation holding data, loaded through embed (row t of an F32 table for token t). */
    static Act act(Ops o, float[] data, int rows, int cols) {
        Act a = o.allocate(rows, cols);
        int[] tokens = new int[rows];
        for (int i = 0; i < rows; i++) tokens[i] = i;
        o.embed(a, f32(data, rows, cols), tokens, rows);
        return a;
    }

    static float[] read(Ops o, Act a, int rows) {
        float[] out = new float[rows * a.cols()], row = new float[a.cols()];
        for (int t = 0; t < rows; t++) {
            o.read(a, t, row);
            System.arraycopy(row, 0, out, t * a.cols(), row.length);
        }
        return out;
    }

    static void close(float[] expected, float[] actual, double tol, String what) {
        double max = 1e-30, err = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(err / max <= tol, what + ": error " + err / max + " of the largest value");
    }

    @Test
    void rmsnormAndSwiglu() {
        Random r = new Random(1);
        int rows = 5, cols = 288;
        float[] x = random(r, rows * cols, 2), w = random(r, cols, 1), up = random(r, rows * cols, 1);
        Act ax = act(ops, x, rows, cols), out = ops.allocate(rows, cols);
        ops.rmsnorm(out, ax, f32(w, 1, cols), 1e-5f, rows);
        close(RmsNormReference.apply(x.clone(), null, w, rows, cols, 1e-5f), read(ops, out, rows), 1e-5, "rmsnorm");

        Act au = act(ops, up, rows, cols);
        ops.swiglu(ax, au, rows);
        float[] g = x.clone();
        SwiGluReference.apply(g, up);
        close(g, read(ops, ax, rows), 1e-5, "swiglu");
    }

    /** W8A16 rows: gemv_i8_row's reference against CpuOps's INT8-row matmul on the same file bytes. */
    @Test
    void int8RowMatmul() {
        Random r = new Random(21);
        int rows = 37, cols = 272, n = 3;
        float[] dense = new float[rows * cols], x = new float[n * cols];
        for (int i = 0; i < dense.length; i++) dense[i] = (float) r.nextGaussian() * 0.05f;
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        byte[] file = dev.longbow.tensor.CompressedLayout.encode(WeightType.I8_ROW, dense, rows, cols, null);
        MemorySegment seg = arena.allocate(file.length, 16);
        MemorySegment.copy(file, 0, seg, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, file.length);
        Tensor w = new Tensor("w", WeightType.I8_ROW, new long[]{rows, cols}, seg);
        byte[] values = new byte[rows * cols];
        float[] scales = new float[rows];
        for (int row = 0; row < rows; row++) {
            scales[row] = dev.longbow.tensor.CompressedLayout.scale(seg, WeightType.I8_ROW, rows, cols, row);
            MemorySegment.copy(seg, java.lang.foreign.ValueLayout.JAVA_BYTE, dev.longbow.tensor.CompressedLayout.valuesOffset(WeightType.I8_ROW, cols, row),
                    values, row * cols, cols);
        }
        Act in = act(ops, x, n, cols), out = ops.allocate(n, rows);
        ops.matmul(out, in, w, null, n);
        close(MatmulReference.gemvInt8Rows(values, scales, x, null, rows, cols, n), read(ops, out, n), 1e-5, "int8 rows");
    }

    @Test
    void ropeEveryMethodBothLayouts() {
        Random r = new Random(2);
        for (var e : dev.longbow.cuda.gpu.RopeMethods.all(64).entrySet()) {
            RopeScaling.Table table = e.getValue().table(64, 10000f, 8192);
            for (RotaryLayout layout : RotaryLayout.values()) {
                Rope rope = new Rope(table.inverseFrequencies(), 64, layout, table.attentionFactor());
                for (int start : new int[]{0, 65530, 500_000}) {
                    int rows = 3, heads = 4, cols = heads * 64;
                    float[] x = random(r, rows * cols, 1);
                    Act a = act(ops, x, rows, cols);
                    ops.rope(a, heads, rope, start, rows);
                    RopeReference.apply(x, rows, heads, cols, rope, start);
                    close(x, read(ops, a, rows), 1e-6, e.getKey() + " " + layout + " at " + start);
                }
            }
        }
    }

    @Test
    void attentionOverF16KeysAndValues() {
        Random r = new Random(3);
        int heads = 8, kvHeads = 2, hd = 64, positions = 200, n = 40, start = positions - n;
        for (int window : new int[]{0, 50}) {
            for (float temperature : new float[]{1f, 1.5f}) {
                KvCache cache = ops.allocateKvCache(1, positions, kvHeads, hd, KvType.F16);
                float[] k = random(r, positions * kvHeads * hd, 1), v = random(r, positions * kvHeads * hd, 1);
                ops.storeKv(cache, 0, act(ops, k, positions, kvHeads * hd), act(ops, v, positions, kvHeads * hd), 0, positions);
                float[] q = random(r, n * heads * hd, 1);
                Act out = ops.allocate(n, heads * hd);
                ops.attention(out, act(ops, q, n, heads * hd), cache, 0, new Attention(heads, kvHeads, hd, window).withTemperature(temperature), start, n);
                for (int i = 0; i < k.length; i++) {
                    k[i] = F16.round(k[i]);
                    v[i] = F16.round(v[i]);
                }
                close(AttentionReference.apply(q, k, v, n, heads, kvHeads, hd, start, window, temperature), read(ops, out, n), 1e-5,
                        "attention window " + window + " temperature " + temperature);
                cache.close();
            }
        }
    }

    static float[] random(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }
}
