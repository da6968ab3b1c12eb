package dev.longbow.backend.cpu;

import dev.longbow.backend.Act;
import dev.longbow.backend.Attention;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.Ops;
import dev.longbow.backend.Rope;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * The FP32 reference backend. Every reduction runs in the same order, in float, as llama2.c's run.c, so greedy
 * decoding matches it token for token; it is also the reference each GPU kernel is checked against.
 * Work is split across a fixed pool by output rows (matmul) and by (token, head) pairs (attention), which keeps
 * each value's arithmetic identical whatever the thread count.
 */
public final class CpuOps implements Ops {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ForkJoinPool pool;
    private final int threads;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);
    /** Per calling thread: activations quantized or rounded for one matmul; pool tasks only read them until join. */
    private final ThreadLocal<Q8Activations> q8Buffer = ThreadLocal.withInitial(Q8Activations::new);
    private final ThreadLocal<float[]> f16Buffer = ThreadLocal.withInitial(() -> new float[0]);

    public CpuOps(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = new ForkJoinPool(this.threads);
    }

    @Override
    public String name() {
        return "cpu (" + threads + " threads)";
    }

    private float[] scratch(int n) {
        float[] s = scratch.get();
        if (s.length < n) {
            s = new float[n];
            scratch.set(s);
        }
        return s;
    }

    /** Below this many multiply-adds, handing work to the pool costs more than it saves. */
    private static final long PARALLEL_THRESHOLD = 1 << 16;

    private void parallel(int tasks, long work, java.util.function.IntConsumer body) {
        if (threads == 1 || tasks == 1 || work < PARALLEL_THRESHOLD) {
            for (int i = 0; i < tasks; i++) body.accept(i);
        } else {
            pool.submit(() -> IntStream.range(0, tasks).parallel().forEach(body)).join();
        }
    }

    @Override
    public Act allocate(int rows, int cols) {
        return new CpuAct(new float[rows * cols], 0, rows, cols);
    }

    @Override
    public Act rowView(Act x, int row) {
        CpuAct a = (CpuAct) x;
        return new CpuAct(a.data(), a.at(row), 1, a.cols());
    }

    @Override
    public KvCache allocateKvCache(int layers, int contextLength, int kvDim) {
        return new CpuKvCache(layers, contextLength, kvDim);
    }

    @Override
    public void embed(Act out, Tensor table, int[] tokens, int n) {
        CpuAct o = (CpuAct) out;
        for (int t = 0; t < n; t++) table.readRow(tokens[t], o.data(), o.at(t));
    }

    @Override
    public void rmsnorm(Act out, Act x, Tensor weight, float eps, int n) {
        CpuAct o = (CpuAct) out, in = (CpuAct) x;
        int size = in.cols();
        float[] w = vector(weight);
        for (int t = 0; t < n; t++) {
            float[] xd = in.data(), od = o.data();
            int xo = in.at(t), oo = o.at(t);
            float ss = 0.0f;
            for (int j = 0; j < size; j++) ss += xd[xo + j] * xd[xo + j];
            ss /= size;
            ss += eps;
            ss = 1.0f / (float) Math.sqrt(ss);
            for (int j = 0; j < size; j++) od[oo + j] = w[j] * (ss * xd[xo + j]);
        }
    }

    /** Norm weights and biases are short and read every token: dequantize each once and keep it on the heap. */
    private final java.util.Map<MemorySegment, float[]> vectors = new java.util.concurrent.ConcurrentHashMap<>();

    private float[] vector(Tensor t) {
        return vectors.computeIfAbsent(t.data(), seg -> {
            float[] v = new float[(int) t.elementCount()];
            Tensor.dequantize(t.type(), seg, 0, v, 0, v.length);
            return v;
        });
    }

    @Override
    public void matmul(Act out, Act x, Tensor w, Tensor bias, int n) {
        CpuAct o = (CpuAct) out, in = (CpuAct) x;
        int rows = w.rows(), cols = w.cols();
        if (cols != in.cols() || rows != o.cols()) {
            throw new IllegalArgumentException(w.name() + " " + rows + "x" + cols + " applied to " + in.cols() + " -> " + o.cols());
        }
        float[] b = bias == null ? null : vector(bias);
        // Block-quantized weights meet activations quantized to Q8_0 blocks, as llama.cpp computes them.
        Q8Activations q8 = w.type() == WeightType.Q8_0 || w.type() == WeightType.Q4_0 ? q8Buffer.get().quantize(in, n) : null;
        // Likewise F16 weights meet activations rounded to F16.
        CpuAct x16 = w.type() == WeightType.F16 ? roundedToF16(in, n) : in;
        int block = Math.max(1, Math.min(64, rows / (threads * 4)));
        int tasks = (rows + block - 1) / block;
        parallel(tasks, (long) rows * cols * n, task -> {
            int r0 = task * block, r1 = Math.min(rows, r0 + block);
            float[] row = w.type() == WeightType.F32 || q8 != null ? null : scratch(cols);
            for (int r = r0; r < r1; r++) {
                if (row != null) w.readRow(r, row, 0);
                for (int t = 0; t < n; t++) {
                    float val = switch (w.type()) {
                        case F32 -> dotF32(w.data(), (long) r * cols * 4, in.data(), in.at(t), cols);
                        case Q8_0 -> q8.dotQ8_0(w.data(), (long) r * (cols / 32) * 34, t);
                        case Q4_0 -> q8.dotQ4_0(w.data(), (long) r * (cols / 32) * 18, t);
                        default -> dot(row, x16.data(), x16.at(t), cols);
                    };
                    o.data()[o.at(t) + r] = b == null ? val : val + b[r];
                }
            }
        });
    }

    private CpuAct roundedToF16(CpuAct x, int n) {
        float[] r = f16Buffer.get();
        if (r.length < n * x.cols()) f16Buffer.set(r = new float[n * x.cols()]);
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < x.cols(); i++) r[t * x.cols() + i] = Float.float16ToFloat(Float.floatToFloat16(x.data()[x.at(t) + i]));
        }
        return new CpuAct(r, 0, n, x.cols());
    }

    private static float dotF32(MemorySegment w, long byteOffset, float[] x, int xo, int n) {
        float val = 0.0f;
        for (int j = 0; j < n; j++) val += w.get(F32_LE, byteOffset + 4L * j) * x[xo + j];
        return val;
    }

    private static float dot(float[] w, float[] x, int xo, int n) {
        float val = 0.0f;
        for (int j = 0; j < n; j++) val += w[j] * x[xo + j];
        return val;
    }

    @Override
    public void rope(Act x, int heads, Rope rope, int startPos, int n) {
        CpuAct a = (CpuAct) x;
        int hd = rope.headDim(), half = hd / 2;
        float[] inv = rope.inverseFrequencies();
        float[] cos = scratch(hd); // cos in [0, half), sin in [half, hd)
        for (int t = 0; t < n; t++) {
            int pos = startPos + t;
            for (int i = 0; i < half; i++) {
                float val = pos * inv[i];
                cos[i] = (float) Math.cos(val);
                cos[half + i] = (float) Math.sin(val);
            }
            float[] d = a.data();
            for (int h = 0; h < heads; h++) {
                int base = a.at(t) + h * hd;
                for (int i = 0; i < half; i++) {
                    int i0 = rope.layout() == RotaryLayout.INTERLEAVED ? base + 2 * i : base + i;
                    int i1 = rope.layout() == RotaryLayout.INTERLEAVED ? i0 + 1 : i0 + half;
                    float v0 = d[i0], v1 = d[i1];
                    float c = cos[i], sn = cos[half + i];
                    d[i0] = v0 * c - v1 * sn;
                    d[i1] = v0 * sn + v1 * c;
                }
            }
        }
    }

    @Override
    public void storeKv(KvCache cache, int layer, Act k, Act v, int startPos, int n) {
        CpuKvCache c = (CpuKvCache) cache;
        CpuAct ka = (CpuAct) k, va = (CpuAct) v;
        for (int t = 0; t < n; t++) {
            long off = c.offset(layer, startPos + t);
            MemorySegment.copy(ka.data(), ka.at(t), c.keys, ValueLayout.JAVA_FLOAT, off, c.kvDim);
            MemorySegment.copy(va.data(), va.at(t), c.values, ValueLayout.JAVA_FLOAT, off, c.kvDim);
        }
    }

    @Override
    public void attention(Act out, Act q, KvCache cache, int layer, Attention p, int startPos, int n) {
        CpuKvCache c = (CpuKvCache) cache;
        CpuAct o = (CpuAct) out, qa = (CpuAct) q;
        int hd = p.headDim(), groups = p.heads() / p.kvHeads();
        float scale = (float) Math.sqrt(hd);
        parallel(n * p.heads(), (long) n * p.heads() * (startPos + n) * hd, task -> {
            int t = task / p.heads(), h = task % p.heads();
            int pos = startPos + t;
            int first = p.slidingWindow() > 0 ? Math.max(0, pos - p.slidingWindow() + 1) : 0;
            float[] att = scratch(pos + 1);
            int qo = qa.at(t) + h * hd;
            long kvHeadOffset = 4L * (h / groups) * hd;
            for (int s = first; s <= pos; s++) {
                long ko = c.offset(layer, s) + kvHeadOffset;
                float score = 0.0f;
                for (int i = 0; i < hd; i++) score += qa.data()[qo + i] * c.key(ko + 4L * i);
                score /= scale;
                att[s] = score;
            }
            softmax(att, first, pos + 1);
            float[] od = o.data();
            int oo = o.at(t) + h * hd;
            for (int i = 0; i < hd; i++) od[oo + i] = 0.0f;
            for (int s = first; s <= pos; s++) {
                long vo = c.offset(layer, s) + kvHeadOffset;
                float a = att[s];
                for (int i = 0; i < hd; i++) od[oo + i] += a * c.value(vo + 4L * i);
            }
        });
    }

    static void softmax(float[] x, int from, int to) {
        float max = x[from];
        for (int i = from + 1; i < to; i++) if (x[i] > max) max = x[i];
        float sum = 0.0f;
        for (int i = from; i < to; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = from; i < to; i++) x[i] /= sum;
    }

    @Override
    public void swiglu(Act gate, Act up, int n) {
        CpuAct g = (CpuAct) gate, u = (CpuAct) up;
        for (int t = 0; t < n; t++) {
            int go = g.at(t), uo = u.at(t);
            for (int i = 0; i < g.cols(); i++) {
                float val = g.data()[go + i];
                val *= (1.0f / (1.0f + (float) Math.exp(-val)));
                val *= u.data()[uo + i];
                g.data()[go + i] = val;
            }
        }
    }

    @Override
    public void add(Act x, Act y, int n) {
        CpuAct a = (CpuAct) x, b = (CpuAct) y;
        for (int t = 0; t < n; t++) {
            int ao = a.at(t), bo = b.at(t);
            for (int i = 0; i < a.cols(); i++) a.data()[ao + i] += b.data()[bo + i];
        }
    }

    @Override
    public void read(Act x, int row, float[] dst) {
        CpuAct a = (CpuAct) x;
        System.arraycopy(a.data(), a.at(row), dst, 0, a.cols());
    }

    @Override
    public void close() {
        pool.shutdown();
    }
}
