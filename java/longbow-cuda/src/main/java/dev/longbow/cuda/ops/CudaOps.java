package dev.longbow.cuda.ops;

import dev.longbow.LongbowException;
import dev.longbow.backend.Act;
import dev.longbow.backend.Attention;
import dev.longbow.backend.KvBlockPool;
import dev.longbow.backend.KvCache;
import dev.longbow.backend.KvType;
import dev.longbow.backend.Ops;
import dev.longbow.backend.Rope;
import dev.longbow.backend.SparseAttention;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.ffm.Cublas;
import dev.longbow.cuda.kernels.AddKernel;
import dev.longbow.cuda.kernels.AttentionKernel;
import dev.longbow.cuda.kernels.ConvertKernel;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.EmbedKernel;
import dev.longbow.cuda.kernels.GemmInt8Kernel;
import dev.longbow.cuda.kernels.GemmKernel;
import dev.longbow.cuda.kernels.GemvInt8Kernel;
import dev.longbow.cuda.kernels.GemvKernel;
import dev.longbow.cuda.kernels.GemvS24Kernel;
import dev.longbow.cuda.kernels.KvStoreKernel;
import dev.longbow.cuda.kernels.RmsNormKernel;
import dev.longbow.cuda.kernels.RopeKernel;
import dev.longbow.cuda.kernels.SwiGluKernel;
import dev.longbow.model.RotaryLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The forward pass's ops on an NVIDIA GPU: weights in F16 on the device (uploaded on first use, see DeviceWeights),
 * activations in F32 on the device, the KV cache in F16 pages on the device. Everything runs in order on one stream;
 * the host waits only where it reads (logits) or reuses a staging buffer. A residual add is held back and fused into
 * the RMSNorm that follows it when that norm reads the same rows (every layer does, twice).
 * Matmuls: the GEMV kernel for up to 8 tokens (decode), the tensor-core GEMM beyond (prefill; k a multiple of 32).
 * Attention: FlashAttention-2-style prefill for more than 16 queries at head dims 64/128, flash-decoding otherwise.
 * With -Dlongbow.cuda.gemm=cublas the prefill matmuls without a bias go to cuBLAS instead (the peer, for comparisons).
 * With -Dlongbow.cuda.graphs=true a one-token step (embed of one token ... read) is held back as a list of launches
 * and run as a CUDA Graph: the first time a step's launches (every pointer and size; the position and token are read
 * from device memory) are seen they run directly, the second time they are captured, from then on the graph replays.
 * Not for concurrent use (like the CPU backend's per-model buffers).
 */
public final class CudaOps implements Ops {
    private final GpuDriver driver;
    private final CudaKernels k;
    private final String binding;
    private final long stream;
    private final DeviceWeights weights;
    private final Cublas blas;
    private final List<Long> allocations = new ArrayList<>();
    private final Map<float[], Long> ropeTables = new IdentityHashMap<>();
    /** Pinned staging for token ids in and rows out. */
    private MemorySegment staging;
    private long tokens, tokensCapacity, partials, partialsCapacity;
    /** Activations rounded to F16 for the tensor-core kernels (and W8A8 prefill's int8 activations, in half of it). */
    private final Scratch half = new Scratch();
    /** A compressed matrix widened to F16 for one prefill matmul at a time: as large as the largest such matrix. */
    private final Scratch weightHalf = new Scratch();
    /** W8A8 prefill's per-token activation scales. */
    private final Scratch tokenScales = new Scratch();
    private CudaAct pendingX, pendingY;
    private int pendingN;
    private static final int GRAPH_LIMIT = 64;
    private final boolean graphs = Boolean.getBoolean("longbow.cuda.graphs");
    /** Device int: the position of the one-token step being run (kernels read it there, so a graph can replay). */
    private final long stepPos;
    /** A one-token step being held back: its launches, a hash of everything they take, its token and position. */
    private final List<Runnable> deferred = new ArrayList<>();
    private boolean deferring;
    private long signature, lastSignature;
    private int stepToken, stepStart;
    private final Map<Long, Long> graphExecs = new java.util.HashMap<>();
    private long graphLaunches;

    public CudaOps(GpuDriver driver, String binding, long weightBytesHint) {
        this.driver = driver;
        this.binding = binding;
        try {
            this.k = new CudaKernels(driver);
            this.stream = driver.createStream();
            this.weights = new DeviceWeights(driver, weightBytesHint);
            this.staging = driver.mallocHost(1 << 20);
            this.blas = "cublas".equals(System.getProperty("longbow.cuda.gemm")) ? Cublas.open() : null;
            this.stepPos = driver.malloc(256);
        } catch (RuntimeException e) {
            driver.close();
            throw e;
        }
    }

    public GpuDriver driver() {
        return driver;
    }

    /** One-token steps run as a replayed CUDA Graph so far (-Dlongbow.cuda.graphs=true). */
    public long graphLaunches() {
        return graphLaunches;
    }

    @Override
    public String name() {
        return "cuda (" + driver.device().name() + ", " + binding + (blas != null ? ", cuBLAS GEMM" : "") + (graphs ? ", graphs" : "") + ")";
    }

    private long malloc(long bytes) {
        long p = driver.malloc(Math.max(bytes, 256));
        allocations.add(p);
        return p;
    }

    private void release(long p) {
        if (p == 0) return;
        allocations.remove(p);
        driver.free(p);
    }

    @Override
    public Act allocate(int rows, int cols) {
        long p = malloc(4L * rows * cols);
        driver.memset(p, (byte) 0, 4L * rows * cols, stream);
        return new CudaAct(p, rows, cols);
    }

    @Override
    public Act rowView(Act x, int row) {
        CudaAct a = (CudaAct) x;
        return new CudaAct(a.row(row), 1, a.cols());
    }

    @Override
    public KvCache allocateKvCache(int layers, int contextLength, int kvHeads, int headDim, KvType type) {
        if (type == KvType.Q8) throw new LongbowException("--kv-type q8 runs on the CPU backend only; the CUDA backend keeps the cache in F16");
        return new CudaKvCache(driver, layers, contextLength, kvHeads, headDim);
    }

    /**
     * Not yet: the device cache is one preallocated page table per sequence. A shared pool needs the CPU pool's
     * reference counts and prefix index over device pages, with a device-to-device copy for copy-on-write.
     */
    @Override
    public KvBlockPool allocateKvPool(int layers, int kvHeads, int headDim, KvType type, long budgetBytes) {
        throw new UnsupportedOperationException("continuous batching needs a shared KV block pool, which the CUDA backend does not have yet");
    }

    /** Launches now, or holds the launch back as part of a one-token step (whose hash takes {@code key}). */
    private void launch(Runnable work, long... key) {
        if (!deferring) {
            work.run();
            return;
        }
        deferred.add(work);
        for (long v : key) signature = signature * 1_000_003L + v;
    }

    /** The start position kernels read from device memory in a held-back step (0: they take it as a value). */
    private long positionPointer(int startPos) {
        if (!deferring) return 0;
        stepStart = startPos;
        return stepPos;
    }

    /** Runs the held-back residual add on its own: the next op is not the RMSNorm it could fuse into. */
    private void flush() {
        if (pendingX == null) return;
        long x = pendingX.ptr(), y = pendingY.ptr(), count = (long) pendingN * pendingX.cols();
        launch(() -> AddKernel.launch(k, stream, x, y, count), 1, x, y, count);
        pendingX = pendingY = null;
    }

    /**
     * Runs a held-back one-token step: token and position into device memory, then its graph if one was captured for
     * exactly these launches, else a capture of them if they ran once before, else the launches themselves.
     */
    private void runStep() {
        deferring = false;
        ensureStaging(8);
        driver.synchronize(stream);
        staging.set(JAVA_INT, 0, stepToken);
        staging.set(JAVA_INT, 4, stepStart);
        driver.copyToDevice(tokens, staging, 4, stream);
        driver.copyToDevice(stepPos, staging.asSlice(4), 4, stream);
        Long exec = graphExecs.get(signature);
        if (exec == null && signature == lastSignature) {
            if (graphExecs.size() >= GRAPH_LIMIT) clearGraphs();
            driver.beginCapture(stream);
            for (Runnable r : deferred) r.run();
            exec = driver.endCapture(stream);
            graphExecs.put(signature, exec);
        }
        if (exec != null) {
            driver.launchGraph(exec, stream);
            graphLaunches++;
        } else for (Runnable r : deferred) r.run();
        lastSignature = signature;
        deferred.clear();
    }

    private void clearGraphs() {
        for (long e : graphExecs.values()) driver.destroyGraph(e);
        graphExecs.clear();
    }

    @Override
    public void embed(Act out, Tensor table, int[] ids, int n) {
        flush();
        if (deferring) runStep(); // a step that never read its result: run it before starting another
        CudaAct o = (CudaAct) out;
        if (tokensCapacity < n) {
            release(tokens);
            tokens = malloc(4L * n);
            tokensCapacity = n;
        }
        long t = weights.f16(table), toks = tokens, dst = o.ptr();
        int cols = o.cols(), vocab = table.rows();
        if (graphs && n == 1) {
            deferring = true;
            deferred.clear();
            signature = 17;
            stepToken = ids[0];
        } else {
            ensureStaging(4L * n);
            driver.synchronize(stream); // the staging buffer may still be the source of an earlier copy
            MemorySegment.copy(ids, 0, staging, JAVA_INT, 0, n);
            driver.copyToDevice(tokens, staging, 4L * n, stream);
        }
        launch(() -> EmbedKernel.launch(k, stream, t, toks, dst, n, cols, vocab), 2, t, toks, dst, n);
    }

    @Override
    public void rmsnorm(Act out, Act x, Tensor weight, float eps, int n) {
        CudaAct o = (CudaAct) out, in = (CudaAct) x;
        long residual = 0;
        if (pendingX != null && pendingX.ptr() == in.ptr() && pendingN == n) {
            residual = pendingY.ptr();
            pendingX = pendingY = null;
        } else {
            flush();
        }
        long x0 = in.ptr(), res = residual, w = weights.f32(weight), dst = o.ptr();
        int cols = in.cols();
        launch(() -> RmsNormKernel.launch(k, stream, x0, res, w, dst, 0, n, cols, eps), 3, x0, res, w, dst, n, Float.floatToIntBits(eps));
    }

    @Override
    public void matmul(Act out, Act x, Tensor w, Tensor bias, int n) {
        flush();
        CudaAct o = (CudaAct) out, in = (CudaAct) x;
        int rows = o.cols(), cols = in.cols();
        long src = in.ptr(), dst = o.ptr(), db = bias == null ? 0 : weights.f32(bias);
        if (w.type() == WeightType.I8_ROW || w.type() == WeightType.I8_ROW_A8) {
            int8Matmul(w, src, dst, db, rows, cols, n);
            return;
        }
        if (w.type() == WeightType.S24_F16 || w.type() == WeightType.S24_I8) {
            sparse24Matmul(w, src, dst, db, rows, cols, n);
            return;
        }
        long dw = weights.f16(w);
        if (n <= GemvKernel.MAX_TOKENS || !GemmKernel.supports(cols)) {
            launch(() -> GemvKernel.launch(k, stream, dw, src, dst, db, rows, cols, n, cols, rows), 4, dw, src, dst, db, n);
        } else {
            long h = halfScratch((long) n * cols);
            launch(() -> {
                ConvertKernel.launch(k, stream, src, h, (long) n * cols);
                if (blas != null && db == 0) blas.gemm(stream, h, dw, dst, n, rows, cols, rows);
                else GemmKernel.launch(k, stream, h, dw, dst, db, n, rows, cols, rows);
            }, 9, h, dw, src, dst, db, n);
        }
    }

    /**
     * INT8-row weights stay INT8 on the device: decode reads half the bytes of F16 (float activations, for W8A8 files
     * too, whose bytes are the same). Prefill of W8A8 quantizes the activations per token, as the CPU does, and runs
     * the INT8 tensor-core GEMM; W8A16's widens the matrix into an F16 scratch matrix for the F16 GEMM, one pass per
     * matmul, and keeps no F16 copy.
     */
    private void int8Matmul(Tensor w, long src, long dst, long db, int rows, int cols, int n) {
        long dw = weights.int8Rows(w), scales = dw + DeviceWeights.int8ScalesOffset(w);
        if (n > GemvKernel.MAX_TOKENS && w.type() == WeightType.I8_ROW_A8 && GemmInt8Kernel.supports(cols)) {
            long q = halfScratch((long) n * cols), ts = tokenScaleScratch(n); // the int8 values take half the F16 scratch
            launch(() -> {
                GemmInt8Kernel.quantizeRows(k, stream, src, q, ts, n, cols);
                GemmInt8Kernel.launch(k, stream, q, dw, dst, ts, scales, db, n, rows, cols, rows);
            }, 12, q, ts, dw, src, dst, db, n);
            return;
        }
        if (n <= GemvKernel.MAX_TOKENS || !GemmKernel.supports(cols)) {
            launch(() -> GemvInt8Kernel.launch(k, stream, dw, scales, src, dst, db, rows, cols, n, cols, rows), 10, dw, scales, src, dst, db, n);
        } else {
            long h = halfScratch((long) n * cols), wh = weightScratch((long) rows * cols);
            launch(() -> {
                ConvertKernel.launch(k, stream, src, h, (long) n * cols);
                GemvInt8Kernel.dequantize(k, stream, dw, scales, wh, rows, cols);
                GemmKernel.launch(k, stream, h, wh, dst, db, n, rows, cols, rows);
            }, 11, h, wh, dw, src, dst, db, n);
        }
    }

    /**
     * 2:4 weights stay compressed on the device: decode reads 9 (F16) or 5 (INT8) bits a weight with gemv_s24_*.
     * Prefill widens the matrix to dense F16 in the scratch matrix and runs the F16 GEMM (a sparse tensor-core GEMM,
     * mma.sp, is not written).
     */
    private void sparse24Matmul(Tensor w, long src, long dst, long db, int rows, int cols, int n) {
        DeviceWeights.Sparse24 s = weights.sparse24(w);
        if (n <= GemvKernel.MAX_TOKENS || !GemmKernel.supports(cols)) {
            launch(() -> GemvS24Kernel.launch(k, stream, s.values(), s.index(), s.scale(), src, dst, db, rows, cols, n, cols, rows),
                    13, s.values(), s.index(), s.scale(), src, dst, db, n);
        } else {
            long h = halfScratch((long) n * cols), wh = weightScratch((long) rows * cols);
            launch(() -> {
                ConvertKernel.launch(k, stream, src, h, (long) n * cols);
                GemvS24Kernel.widen(k, stream, s.values(), s.index(), s.scale(), wh, rows, cols);
                GemmKernel.launch(k, stream, h, wh, dst, db, n, rows, cols, rows);
            }, 14, h, wh, s.values(), src, dst, db, n);
        }
    }

    @Override
    public void rope(Act x, int heads, Rope rope, int startPos, int n) {
        flush();
        CudaAct a = (CudaAct) x;
        Long table = ropeTables.get(rope.inverseFrequencies());
        if (table == null) {
            float[] inv = rope.inverseFrequencies();
            table = malloc(4L * inv.length);
            ensureStaging(4L * inv.length);
            driver.synchronize(stream);
            MemorySegment.copy(inv, 0, staging, JAVA_FLOAT, 0, inv.length);
            driver.copyToDevice(table, staging, 4L * inv.length, stream);
            ropeTables.put(inv, table);
        }
        long x0 = a.ptr(), inv = table, posPtr = positionPointer(startPos);
        int hd = rope.headDim(), cols = a.cols();
        boolean interleaved = rope.layout() == RotaryLayout.INTERLEAVED;
        float factor = rope.attentionFactor();
        launch(() -> RopeKernel.launch(k, stream, x0, inv, n, heads, hd, cols, startPos, posPtr, interleaved, factor),
                5, x0, inv, n, heads, hd, interleaved ? 1 : 0, Float.floatToIntBits(factor));
    }

    @Override
    public void storeKv(KvCache cache, int layer, Act key, Act value, int startPos, int n) {
        flush();
        CudaKvCache c = (CudaKvCache) cache;
        CudaAct ka = (CudaAct) key, va = (CudaAct) value;
        long kp = ka.ptr(), vp = va.ptr(), table = c.table(layer), posPtr = positionPointer(startPos);
        int kc = ka.cols(), vc = va.cols();
        launch(() -> KvStoreKernel.launch(k, stream, kp, vp, c.kPool, c.vPool, table, n, c.kvHeads, c.headDim, kc, vc, startPos, posPtr),
                6, kp, vp, c.kPool, c.vPool, table, n);
    }

    @Override
    public void attention(Act out, Act q, KvCache cache, int layer, Attention p, int startPos, int n) {
        flush();
        if (p.sinks() > 0) throw new LongbowException("--attn-sinks runs on the CPU backend only (the CUDA kernels have no sink re-rotation yet)");
        if (!p.sparse().equals(SparseAttention.NONE)) throw new LongbowException("--attn-sparse runs on the CPU backend only");
        CudaKvCache c = (CudaKvCache) cache;
        CudaAct o = (CudaAct) out, qa = (CudaAct) q;
        int hd = p.headDim();
        if (n > AttentionKernel.DECODE_MAX_QUERIES && AttentionKernel.prefillSupports(hd)) {
            // Only many-query chunks come here, never a one-token step: nothing to hold back.
            long h = halfScratch((long) n * qa.cols());
            ConvertKernel.launch(k, stream, qa.ptr(), h, (long) n * qa.cols());
            AttentionKernel.prefill(k, stream, h, c.kPool, c.vPool, c.table(layer), o.ptr(), n, p.heads(), p.kvHeads(), hd,
                    qa.cols(), o.cols(), startPos, p.window(), p.temperature());
        } else if (AttentionKernel.decodeSupports(hd)) {
            // With graphs on, the split covers the whole context: a captured step must replay at any later position.
            int keys = graphs ? c.contextLength : startPos + n;
            AttentionKernel.Split split = AttentionKernel.Split.of(keys, n, p.heads(), driver.device().multiprocessors());
            long floats = (long) n * p.heads() * split.splits() * (hd + 2);
            if (partialsCapacity < floats) {
                release(partials);
                partials = malloc(4 * floats);
                partialsCapacity = floats;
            }
            long po = partials, ml = partials + 4L * n * p.heads() * split.splits() * hd, qp = qa.ptr(), dst = o.ptr();
            long table = c.table(layer), posPtr = positionPointer(startPos);
            int qc = qa.cols(), oc = o.cols();
            launch(() -> AttentionKernel.decode(k, stream, qp, c.kPool, c.vPool, table, dst, po, ml, split, n, p.heads(), p.kvHeads(),
                    hd, qc, oc, startPos, posPtr, p.window(), p.temperature()), 7, qp, dst, po, table, n, split.splits(),
                    split.keysPerSplit(), p.heads(), p.kvHeads(), p.window(), Float.floatToIntBits(p.temperature()));
        } else {
            throw new LongbowException("the CUDA attention kernels take head dims 8, 16, 32, 64 and 128; this model's is " + hd);
        }
    }

    @Override
    public void swiglu(Act gate, Act up, int n) {
        flush();
        CudaAct g = (CudaAct) gate, u = (CudaAct) up;
        long gp = g.ptr(), up0 = u.ptr(), count = (long) n * g.cols();
        launch(() -> SwiGluKernel.launch(k, stream, gp, up0, count), 8, gp, up0, count);
    }

    @Override
    public void add(Act x, Act y, int n) {
        flush();
        pendingX = (CudaAct) x;
        pendingY = (CudaAct) y;
        pendingN = n;
    }

    @Override
    public void read(Act x, int row, float[] dst) {
        flush();
        if (deferring) runStep();
        CudaAct a = (CudaAct) x;
        ensureStaging(4L * a.cols());
        driver.copyToHost(staging, a.row(row), 4L * a.cols(), stream);
        driver.synchronize(stream);
        MemorySegment.copy(staging, JAVA_FLOAT, 0, dst, 0, a.cols());
    }

    /** A device buffer that grows to the largest size asked of it (freeing the smaller one), serving one call at a time. */
    private final class Scratch {
        private long pointer, bytes;

        long atLeast(long wanted) {
            if (bytes < wanted) {
                release(pointer);
                pointer = malloc(wanted);
                bytes = wanted;
            }
            return pointer;
        }
    }

    private long halfScratch(long elements) {
        return half.atLeast(2 * elements);
    }

    private long weightScratch(long elements) {
        return weightHalf.atLeast(2 * elements);
    }

    private long tokenScaleScratch(int n) {
        return tokenScales.atLeast(4L * n);
    }

    private void ensureStaging(long bytes) {
        if (staging.byteSize() >= bytes) return;
        driver.synchronize(stream);
        driver.freeHost(staging);
        staging = driver.mallocHost(Math.max(bytes, 2 * staging.byteSize()));
    }

    @Override
    public void close() {
        try {
            driver.synchronize(stream);
            clearGraphs();
            driver.free(stepPos);
            for (long p : allocations) driver.free(p);
            allocations.clear();
            weights.close();
            driver.freeHost(staging);
            driver.destroyStream(stream);
            k.close();
            if (blas != null) blas.close();
        } finally {
            driver.close();
        }
    }
}
