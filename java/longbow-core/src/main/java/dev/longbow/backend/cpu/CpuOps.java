package dev.longbow.backend.cpu;

import dev.longbow.backend.Act;
import dev.longbow.backend.Attention;
import dev.longbow.backend.KvBlockPool;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;
import dev.longbow.backend.Ops;
import dev.longbow.backend.Rope;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The CPU backend. With {@link Kernels#REFERENCE} every reduction runs in the same order, in float, as llama2.c's
 * run.c, so greedy decoding matches it token for token; it is the reference each faster kernel (and each GPU
 * kernel) is checked against. {@link Kernels#VECTOR} (the default) computes the same quantities with the Vector API,
 * reading quantized weights in place, and differs from the reference by float rounding only.
 * Work is split across a persistent pool by output rows (matmul) and by (token, head) pairs (attention), which keeps
 * each value's arithmetic identical whatever the thread count. Nothing is allocated per token once buffers have grown.
 */
public final class CpuOps implements Ops {
    public enum Kernels { REFERENCE, VECTOR }

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Below this many multiply-adds, handing work to the pool costs more than it saves. */
    private static final long PARALLEL_THRESHOLD = 1 << 16;
    /** Output rows per matmul task: enough to amortise the hand-off, few enough to balance. */
    private static final int ROWS_PER_TASK = 16;
    /**
     * Below this many tokens (a batched decode step of a few sequences) each weight row is dotted with every token
     * while it is in L1: widening the weights into 4x4 tiles only pays for itself over more tokens.
     */
    static final int GEMM_MIN_TOKENS = 4;
    /**
     * 2:4 INT8 in short lanes decodes faster than its rows widen into prefill panels (a scalar pass per row), so a
     * prompt takes the decode kernel token by token up to here: 1B shape, 2 threads, 32 tokens ran 66 tok/s either way.
     */
    static final int S24_I8_GEMM_MIN_TOKENS = 32;

    private final WorkerPool pool;
    private final int threads;
    private final Kernels kernels;
    private final ThreadLocal<float[]> scratch = ThreadLocal.withInitial(() -> new float[0]);
    private final ThreadLocal<float[]> tileLanes = ThreadLocal.withInitial(() -> new float[VectorGemm.OUTER_LANES]);
    // Used only while holding the pool's lock, so one of each serves every caller.
    private final Q8Activations q8 = new Q8Activations();
    private final Q8KActivations q8k = new Q8KActivations();
    private final TokenInt8Activations a8 = new TokenInt8Activations();
    private float[] f16Rounded = new float[0];
    private final CpuAct[] f16Views = new CpuAct[4];
    private int nextF16View;
    private float[] transposed = new float[0];
    private final MatmulJob[] matmulJobs = {new MatmulJob(), new MatmulJob(), new MatmulJob()};
    private final FusedJob fusedJob = new FusedJob();
    private final SwigluJob swigluJob = new SwigluJob();
    /** Which quantized forms of the current matmuls call's input are made. */
    private boolean q8Ready, q8kReady, a8Ready;
    private CpuAct x16Ready;
    private final CpuAttention attentionJob;

    public CpuOps(int threads) {
        this(threads, Kernels.VECTOR);
    }

    public CpuOps(int threads, Kernels kernels) {
        this.threads = Math.max(1, threads);
        this.kernels = kernels == Kernels.VECTOR && !VectorKernels.SUPPORTED ? Kernels.REFERENCE : kernels;
        this.pool = new WorkerPool(this.threads);
        this.attentionJob = new CpuAttention(this.kernels);
    }

    @Override
    public String name() {
        return "cpu (" + threads + " threads" + (kernels == Kernels.REFERENCE ? ", reference kernels" : "") + ")";
    }

    private float[] scratch(int n) {
        float[] s = scratch.get();
        if (s.length < n) {
            s = new float[n];
            scratch.set(s);
        }
        return s;
    }

    /** Runs the job on the pool, or on the calling thread alone when it is too small to share. Hold the pool's lock. */
    private void parallel(int tasks, long work, java.util.function.IntConsumer job) {
        if (threads == 1 || tasks == 1 || work < PARALLEL_THRESHOLD) {
            for (int i = 0; i < tasks; i++) job.accept(i);
        } else {
            pool.run(tasks, job);
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
    public KvCache allocateKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type) {
        return new CpuKvCache(layers, contextLength, kvHeads, headDim, type);
    }

    @Override
    public KvBlockPool allocateKvPool(int layers, int kvHeads, int headDim, KvType type, long budgetBytes) {
        return new CpuKvPool(layers, kvHeads, headDim, type, budgetBytes, true);
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
    private final java.util.Map<Tensor, float[]> vectors = new java.util.IdentityHashMap<>();

    // Keyed by identity under a lock: a segment's or record's hashCode allocates, and this runs several times per token.
    private float[] vector(Tensor t) {
        synchronized (vectors) {
            float[] v = vectors.get(t);
            if (v == null) {
                v = new float[(int) t.elementCount()];
                Tensor.dequantize(t.type(), t.data(), 0, v, 0, v.length);
                vectors.put(t, v);
            }
            return v;
        }
    }

    @Override
    public void matmul(Act out, Act x, Tensor w, Tensor bias, int n) {
        matmuls(x, n, out, w, bias, null, null, null, null, null, null);
    }

    /**
     * Decode runs the matrices as one job over the pool, its tasks the bands of each matrix in turn, so the threads
     * meet once instead of once per matrix and the input is quantized once. Prefill runs them one after another:
     * each fills the threads on its own, and they share the transposed activations buffer.
     */
    @Override
    public void matmuls(Act x, int n, Act out0, Tensor w0, Tensor bias0, Act out1, Tensor w1, Tensor bias1, Act out2, Tensor w2, Tensor bias2) {
        CpuAct in = (CpuAct) x;
        synchronized (pool) {
            boolean oneAtATime = kernels != Kernels.VECTOR || n >= GEMM_MIN_TOKENS;
            q8Ready = q8kReady = a8Ready = false; // quantized forms of this input, made once for all its matrices
            x16Ready = null;
            int tasks = 0;
            long work = 0;
            int parts = out1 == null ? 1 : out2 == null ? 2 : 3;
            for (int p = 0; p < parts; p++) {
                MatmulJob job = matmulJobs[p];
                Act out = p == 0 ? out0 : p == 1 ? out1 : out2;
                Tensor w = p == 0 ? w0 : p == 1 ? w1 : w2;
                Tensor bias = p == 0 ? bias0 : p == 1 ? bias1 : bias2;
                int jobTasks = prepare(job, (CpuAct) out, in, w, bias, n);
                if (oneAtATime) {
                    parallel(jobTasks, (long) w.rows() * w.cols() * n, job);
                    job.clear();
                } else {
                    fusedJob.firstTask[p] = tasks;
                    tasks += jobTasks;
                    work += (long) w.rows() * w.cols() * n;
                }
            }
            if (!oneAtATime) {
                fusedJob.firstTask[parts] = tasks;
                fusedJob.parts = parts;
                parallel(tasks, work, parts == 1 ? matmulJobs[0] : fusedJob);
                for (int p = 0; p < parts; p++) matmulJobs[p].clear();
            }
        }
    }

    /**
     * Sets up {@code job} for one matrix and returns its task count. Quantized forms of the input are made once per
     * {@link #matmuls} call, whichever of its matrices asks first.
     */
    private int prepare(MatmulJob job, CpuAct o, CpuAct in, Tensor w, Tensor bias, int n) {
        int rows = w.rows(), cols = w.cols();
        if (cols != in.cols() || rows != o.cols()) {
            throw new IllegalArgumentException(w.name() + " " + rows + "x" + cols + " applied to " + in.cols() + " -> " + o.cols());
        }
        job.out = o;
        job.in = in;
        job.w = w;
        job.bias = bias == null ? null : vector(bias);
        job.n = n;
        WeightType type = w.type();
        // Block-quantized weights meet activations quantized to Q8_0 blocks, as llama.cpp computes them.
        job.q8 = null;
        if (type == WeightType.Q8_0 || type == WeightType.Q4_0) {
            if (!q8Ready) q8.quantize(in, n);
            q8Ready = true;
            job.q8 = q8;
        }
        // K-quant weights meet activations quantized to Q8_K super-blocks of 256, again as llama.cpp does.
        job.q8k = null;
        boolean kQuant = type == WeightType.Q4_K || type == WeightType.Q5_K || type == WeightType.Q6_K;
        // So do 2:4 INT8 weights where their short-lane kernel runs, in prefill too, so both see the same values.
        boolean s24Q8K = type == WeightType.S24_I8 && kernels == Kernels.VECTOR && CompressedKernels.S24_I8_SHORT_LANES && cols % 256 == 0;
        if (kQuant || s24Q8K) {
            if (!q8kReady) q8k.quantize(in, n);
            q8kReady = true;
            job.q8k = q8k;
        }
        // Likewise F16 weights (dense or 2:4) meet activations rounded to F16.
        job.x16 = in;
        if (type == WeightType.F16 || type == WeightType.S24_F16) {
            if (x16Ready == null) x16Ready = roundedToF16(in, n);
            job.x16 = x16Ready;
        }
        // W8A8 weights meet activations quantized per token.
        job.a8 = null;
        if (type == WeightType.I8_ROW_A8) {
            if (!a8Ready) a8.quantize(in, n);
            a8Ready = true;
            job.a8 = a8;
        }
        job.gemm = kernels == Kernels.VECTOR && n >= GEMM_MIN_TOKENS ? gemmWeights(type, cols) : null;
        job.q4_0Grouped = type == WeightType.Q4_0 && kernels == Kernels.VECTOR && job.gemm == null && Q4_0Kernels.SUPPORTED
                && q8.q4_0Groups(); // the layout built here, not on the threads
        if (kQuant && kernels == Kernels.VECTOR && job.gemm == null) { // the decode kernels' layouts, built here, not on the threads
            if (type == WeightType.Q6_K) q8k.q6kOrderedValues();
            else q8k.q4kOrderedValues();
        }
        job.compressedGemm = kernels == Kernels.VECTOR && n >= (s24Q8K ? S24_I8_GEMM_MIN_TOKENS : GEMM_MIN_TOKENS) && type.sectioned()
                && VectorGemm.supports(cols, VectorGemm.Weights.F32);
        if (job.gemm != null || job.compressedGemm) {
            // The outer-product tiles read the tokens of one column as one vector; quantized activations are
            // widened to the values the integer decode path stands for on the way.
            if (transposed.length < VectorGemm.transposedStride(n) * cols) transposed = new float[VectorGemm.transposedStride(n) * cols];
            if (job.a8 != null) VectorGemm.transposeDequantized(job.a8.values(), job.a8.scales(), cols, n, cols, transposed);
            else if (job.q8 != null) VectorGemm.transposeDequantized(job.q8.values(), job.q8.scales(), 32, n, cols, transposed);
            else if (job.q8k != null) VectorGemm.transposeDequantized(job.q8k.values(), job.q8k.scales(), 256, n, cols, transposed);
            else VectorGemm.transpose(job.x16.data(), job.x16.at(0), n, cols, transposed); // F32, F16 and the F16-activation compressed types
        }
        // Not 2:4 INT8: written out for four rows, its kernel grew too large for the JIT to keep its vectors in
        // registers in every run (AllocationTest saw 290 KB per decode step).
        job.quarters = kernels == Kernels.VECTOR && job.gemm == null && !job.compressedGemm && rows % 4 == 0
                && (job.q8 != null || type == WeightType.I8_ROW);
        int bandRows = job.quarters ? rows / 4 : rows;
        return (bandRows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    }

    /** swiglu of one token's row per task; fields set under the pool's lock. */
    private static final class SwigluJob implements java.util.function.IntConsumer {
        CpuAct gate, up;

        @Override
        public void accept(int t) {
            VectorKernels.swiglu(gate.data(), gate.at(t), up.data(), up.at(t), gate.cols());
        }
    }

    /** The tasks of up to three matrices' jobs, numbered one matrix after another. */
    private final class FusedJob implements java.util.function.IntConsumer {
        final int[] firstTask = new int[4];
        int parts;

        @Override
        public void accept(int task) {
            int p = 0;
            while (p + 1 < parts && task >= firstTask[p + 1]) p++;
            matmulJobs[p].accept(task - firstTask[p]);
        }
    }

    /** The prefill (several tokens) kernel for this weight type and row length, or null to use dot products. */
    private static VectorGemm.Weights gemmWeights(WeightType type, int cols) {
        VectorGemm.Weights kind = switch (type) {
            case F32 -> VectorGemm.Weights.F32;
            case F16 -> VectorGemm.Weights.F16;
            case Q8_0 -> VectorGemm.Weights.Q8_0;
            case Q4_0 -> VectorGemm.Weights.Q4_0;
            case Q4_K -> VectorGemm.Weights.Q4_K;
            case Q5_K -> VectorGemm.Weights.Q5_K;
            case Q6_K -> VectorGemm.Weights.Q6_K;
            default -> null;
        };
        return kind != null && VectorGemm.supports(cols, kind) ? kind : null;
    }

    /** One band of output rows for every token; fields are set under the pool's lock before each run. */
    private final class MatmulJob implements java.util.function.IntConsumer {
        CpuAct out, in, x16;
        Tensor w;
        float[] bias;
        Q8Activations q8;
        VectorGemm.Weights gemm;
        Q8KActivations q8k;
        TokenInt8Activations a8;
        boolean compressedGemm;
        /** Q4_0 through {@link Q4_0Kernels}, three blocks a load. */
        boolean q4_0Grouped;
        /** Q8_0, Q4_0 and INT8-row dot products four rows at a time, one from each quarter of the matrix: tasks index a quarter's rows. */
        boolean quarters;
        int n;

        /** Drops the references a finished job holds (activations, weights), so they are not kept alive between calls. */
        void clear() {
            out = in = x16 = null;
            w = null;
            bias = null;
            q8 = null;
            q8k = null;
            a8 = null;
        }

        @Override
        public void accept(int task) {
            int rows = w.rows(), cols = w.cols();
            if (quarters) {
                quarterBand(this, task * ROWS_PER_TASK, Math.min(rows / 4, (task + 1) * ROWS_PER_TASK), rows / 4, cols);
                return;
            }
            int r0 = task * ROWS_PER_TASK, r1 = Math.min(rows, r0 + ROWS_PER_TASK);
            if (gemm != null) {
                gemmBand(this, r0, r1, cols);
                return;
            }
            if (w.type().sectioned()) {
                if (compressedGemm) compressedGemmBand(this, r0, r1, cols);
                else compressedBand(this, r0, r1, rows, cols);
                return;
            }
            WeightType type = w.type();
            MemorySegment data = w.data();
            boolean vector = kernels == Kernels.VECTOR;
            float[] row = vector || type == WeightType.F32 || q8 != null || q8k != null ? null : scratch(cols);
            long rowBytes = type.bytesFor(cols);
            int blocks = cols / 32, superBlocks = cols / 256;
            for (int r = r0; r < r1; r++) {
                long ro = r * rowBytes;
                if (row != null) w.readRow(r, row, 0);
                for (int t = 0; t < n; t++) {
                    float val;
                    if (vector) {
                        val = switch (type) {
                            case F32 -> VectorKernels.dotF32(data, ro, in.data(), in.at(t), cols);
                            case F16 -> VectorKernels.dotF16(data, ro, x16.data(), x16.at(t), cols);
                            case BF16 -> VectorKernels.dotBF16(data, ro, in.data(), in.at(t), cols);
                            case Q8_0 -> VectorKernels.dotQ8_0(data, ro, q8.wideValues(), q8.valueOffset(t), q8.scales(), q8.scaleOffset(t), blocks);
                            case Q4_0 -> q4_0Grouped
                                    ? Q4_0Kernels.dotQ4_0(data, ro, q8.q4_0Values(), q8.q4_0ValueOffset(t), q8.q4_0LaneOffsets(), q8.q4_0LaneScales(),
                                            q8.q4_0LaneOffset(t), q8.wideValues(), q8.valueOffset(t), q8.scales(), q8.scaleOffset(t), blocks)
                                    : VectorKernels.dotQ4_0(data, ro, q8.wideValues(), q8.valueOffset(t), q8.scales(), q8.scaleOffset(t), blocks);
                            case Q4_K -> KQuantKernels.dotQ4_K(data, ro, q8k.q4kOrderedValues(), q8k.valueOffset(t), q8k.scales(), q8k.scaleOffset(t),
                                    q8k.minSums(), q8k.sumsOffset(t), superBlocks);
                            case Q5_K -> KQuantKernels.dotQ5_K(data, ro, q8k.q4kOrderedValues(), q8k.valueOffset(t), q8k.scales(), q8k.scaleOffset(t),
                                    q8k.minSums(), q8k.sumsOffset(t), superBlocks);
                            case Q6_K -> KQuantKernels.dotQ6_K(data, ro, q8k.q6kOrderedValues(), q8k.valueOffset(t), q8k.scales(), q8k.scaleOffset(t),
                                    q8k.sums(), q8k.sumsOffset(t), superBlocks);
                            default -> throw new IllegalStateException(type + " has its own band");
                        };
                    } else {
                        val = switch (type) {
                            case F32 -> dotF32(data, ro, in.data(), in.at(t), cols);
                            case Q8_0 -> q8.dotQ8_0(data, ro, t);
                            case Q4_0 -> q8.dotQ4_0(data, ro, t);
                            case Q4_K -> q8k.dotQ4_K(data, ro, t);
                            case Q5_K -> q8k.dotQ5_K(data, ro, t);
                            case Q6_K -> q8k.dotQ6_K(data, ro, t);
                            default -> dot(row, x16.data(), x16.at(t), cols);
                        };
                    }
                    out.data()[out.at(t) + r] = bias == null ? val : val + bias[r];
                }
            }
        }
    }

    /**
     * Rows r, r + quarter, r + 2 quarter and r + 3 quarter for r in [r0, r1), every token. Decode reads the weights
     * from DRAM once per token, and four distant streams read together go faster than one (VectorKernels.dotQ8_0x4).
     */
    private void quarterBand(MatmulJob j, int r0, int r1, int quarter, int cols) {
        MemorySegment data = j.w.data();
        long rowBytes = j.w.type().sectioned() ? 0 : j.w.type().bytesFor(cols), stride = quarter * rowBytes;
        int blocks = cols / 32;
        Q8Activations q8 = j.q8;
        float[] out = j.out.data();
        WeightType type = j.w.type();
        int rows = 4 * quarter;
        for (int r = r0; r < r1; r++) {
            long ro = r * rowBytes;
            for (int t = 0; t < j.n; t++) {
                int oi = j.out.at(t) + r;
                switch (type) {
                    case Q8_0 -> VectorKernels.dotQ8_0x4(data, ro, stride, q8.wideValues(), q8.valueOffset(t), q8.scales(), q8.scaleOffset(t), blocks,
                            out, oi, quarter);
                    case Q4_0 -> {
                        if (j.q4_0Grouped) {
                            Q4_0Kernels.dotQ4_0x4(data, ro, stride, q8.q4_0Values(), q8.q4_0ValueOffset(t), q8.q4_0LaneOffsets(), q8.q4_0LaneScales(),
                                    q8.q4_0LaneOffset(t), q8.wideValues(), q8.valueOffset(t), q8.scales(), q8.scaleOffset(t), blocks, out, oi, quarter);
                        } else {
                            VectorKernels.dotQ4_0x4(data, ro, stride, q8.wideValues(), q8.valueOffset(t), q8.scales(), q8.scaleOffset(t), blocks,
                                    out, oi, quarter);
                        }
                    }
                    default -> CompressedKernels.dotI8x4(data, CompressedLayout.valuesOffset(type, cols, r), (long) quarter * cols,
                            j.x16.data(), j.x16.at(t), cols, out, oi, quarter);
                }
                if (type == WeightType.I8_ROW) {
                    for (int k = 0; k < 4; k++) out[oi + k * quarter] *= CompressedLayout.scale(data, type, rows, cols, r + k * quarter);
                }
                if (j.bias != null) {
                    for (int k = 0; k < 4; k++) out[oi + k * quarter] += j.bias[r + k * quarter];
                }
            }
        }
    }

    /**
     * Rows [r0, r1) of a compressed weight ({@link dev.longbow.tensor.CompressedLayout}) for every token, one dot
     * product each: the decode path, and prefill where rows do not fill whole vectors.
     */
    private void compressedBand(MatmulJob j, int r0, int r1, int rows, int cols) {
        WeightType type = j.w.type();
        MemorySegment data = j.w.data();
        boolean vector = kernels == Kernels.VECTOR && (CompressedKernels.SPARSE_SUPPORTED
                || type == WeightType.I8_ROW || type == WeightType.I8_ROW_A8);
        float[] row = vector ? null : scratch(cols);
        float[] out = j.out.data();
        for (int r = r0; r < r1; r++) {
            long values = CompressedLayout.valuesOffset(type, cols, r);
            long index = type == WeightType.S24_F16 || type == WeightType.S24_I8 ? CompressedLayout.indexOffset(type, rows, cols, r) : 0;
            float scale = type == WeightType.S24_F16 ? 1f : CompressedLayout.scale(data, type, rows, cols, r);
            for (int t = 0; t < j.n; t++) {
                float val;
                if (type == WeightType.I8_ROW_A8) {
                    val = vector ? CompressedKernels.dotI8I8(data, values, j.a8.values(), j.a8.offset(t), cols) * scale * j.a8.scale(t)
                            : CompressedKernels.referenceI8I8(data, rows, cols, r, j.a8.values(), j.a8.offset(t), j.a8.scale(t));
                } else if (!vector) {
                    val = CompressedKernels.reference(type, data, rows, cols, r, row, j.x16.data(), j.x16.at(t));
                } else {
                    float[] x = j.x16.data();
                    int xo = j.x16.at(t);
                    val = switch (type) {
                        case I8_ROW -> CompressedKernels.dotI8(data, values, x, xo, cols) * scale;
                        case S24_F16 -> CompressedKernels.dotS24F16(data, values, index, x, xo, cols);
                        default -> (j.q8k != null
                                ? CompressedKernels.dotS24I8Q8K(data, values, index, j.q8k.values(), j.q8k.valueOffset(t), j.q8k.scales(), j.q8k.scaleOffset(t), cols)
                                : CompressedKernels.dotS24I8(data, values, index, x, xo, cols)) * scale;
                    };
                }
                out[j.out.at(t) + r] = j.bias == null ? val : val + j.bias[r];
            }
        }
    }

    /** Prefill for compressed weights: eight rows decoded into a panel, then {@link VectorGemm}'s outer-product tiles. */
    private void compressedGemmBand(MatmulJob j, int r0, int r1, int cols) {
        float[] out = j.out.data();
        float[] panel = scratch(VectorGemm.outerScratchLength(cols));
        float[] lanes = tileLanes.get();
        int rows = j.w.rows();
        for (int r = r0; r < r1; r += VectorGemm.OUTER_ROWS) {
            int count = Math.min(VectorGemm.OUTER_ROWS, r1 - r);
            for (int k = 0; k < VectorGemm.OUTER_ROWS; k++) {
                CompressedLayout.dequantizeRow(j.w.type(), j.w.data(), rows, cols, r + Math.min(k, count - 1), panel, k * cols);
            }
            VectorGemm.panelOuter(panel, r, count, transposed, j.n, cols, out, j.out.at(0), j.out.cols(), lanes);
        }
        if (j.bias != null) {
            for (int t = 0; t < j.n; t++) for (int r = r0; r < r1; r++) out[j.out.at(t) + r] += j.bias[r];
        }
    }

    /** Rows [r0, r1) for all n tokens in outer-product tiles, with the activations the decode path would see. */
    private void gemmBand(MatmulJob j, int r0, int r1, int cols) {
        long rowBytes = j.w.type().bytesFor(cols);
        float[] out = j.out.data();
        float[] panel = scratch(VectorGemm.outerScratchLength(cols));
        float[] lanes = tileLanes.get();
        for (int r = r0; r < r1; r += VectorGemm.OUTER_ROWS) {
            VectorGemm.rowsOuter(j.gemm, j.w.data(), rowBytes, r, Math.min(VectorGemm.OUTER_ROWS, r1 - r), transposed, j.n, cols,
                    out, j.out.at(0), j.out.cols(), panel, lanes);
        }
        if (j.bias != null) {
            for (int t = 0; t < j.n; t++) for (int r = r0; r < r1; r++) out[j.out.at(t) + r] += j.bias[r];
        }
    }

    private CpuAct roundedToF16(CpuAct x, int n) {
        float[] r = f16Rounded;
        if (r.length < n * x.cols()) f16Rounded = r = new float[n * x.cols()];
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < x.cols(); i++) r[t * x.cols() + i] = Float.float16ToFloat(Float.floatToFloat16(x.data()[x.at(t) + i]));
        }
        // One view per width (a model has a few: dim, hidden, q), reused while the buffer stays, so decode allocates nothing here.
        for (int i = 0; i < f16Views.length; i++) {
            CpuAct v = f16Views[i];
            if (v != null && v.data() == r && v.cols() == x.cols() && v.rows() >= n) return v;
        }
        CpuAct v = new CpuAct(r, 0, r.length / x.cols(), x.cols());
        f16Views[nextF16View] = v;
        nextF16View = (nextF16View + 1) % f16Views.length;
        return v;
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
        float factor = rope.attentionFactor();
        float[] cos = scratch(hd); // cos in [0, half), sin in [half, hd)
        for (int t = 0; t < n; t++) {
            int pos = startPos + t;
            for (int i = 0; i < half; i++) {
                double val = rope.angle(pos, i);
                cos[i] = (float) Math.cos(val) * factor;
                cos[half + i] = (float) Math.sin(val) * factor;
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
        for (int t = 0; t < n; t++) c.store(layer, startPos + t, ka.data(), ka.at(t), va.data(), va.at(t));
    }

    @Override
    public void attention(Act out, Act q, KvCache cache, int layer, Attention p, int startPos, int n) {
        synchronized (pool) {
            CpuAttention job = attentionJob;
            CpuKvCache c = (CpuKvCache) cache;
            job.set((CpuAct) out, (CpuAct) q, c, layer, p, startPos, n);
            job.prepareSinks(n);
            long keys = p.window() > 0 ? Math.min(startPos + n, (long) p.window() + p.sinks()) : startPos + n;
            int tasks = job.tasks();
            parallel(tasks, n * p.heads() * keys * p.headDim(), job);
            // Dense causal attention scores positions 0..startPos + t for token t.
            c.countScores(job.scored(tasks), (long) p.heads() * ((long) n * startPos + (long) n * (n + 1) / 2));
            job.clear();
        }
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
        if (kernels == Kernels.VECTOR) {
            // A prompt's rows go over the threads: with Math.exp one at a time this took a tenth of prefill.
            synchronized (pool) {
                swigluJob.gate = g;
                swigluJob.up = u;
                parallel(n, (long) n * g.cols() * 16, swigluJob);
                swigluJob.gate = swigluJob.up = null;
            }
            return;
        }
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
        pool.close();
    }
}
