package dev.longbow.backend.cpu;

import dev.longbow.TestData;
import dev.longbow.backend.SparseAttention;
import dev.longbow.backend.SparsePattern;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ContextOptions;
import dev.longbow.model.ModelWeights;
import dev.longbow.model.Transformer;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Decode stays allocation-free with a sparse pattern: span lists, hash cursors and score counters are reused. */
class SparseAttentionAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static long allocated(long[] workers) {
        long sum = THREADS.getCurrentThreadAllocatedBytes();
        for (long id : workers) sum += THREADS.getThreadAllocatedBytes(id);
        return sum;
    }

    /** The lowest allocation per decode step over windows of 150 steps, as in {@link AllocationTest}. */
    private static long bytesPerDecodeStep(SparseAttention sparse) {
        try (ModelFile f = ModelLoader.open(TestData.bundledModel()); CpuOps ops = new CpuOps(2)) {
            Transformer t = new Transformer(f.config(), ModelWeights.bind(f.config(), f.tensors(), f.path().toString()),
                    ContextOptions.DEFAULT.withSparse(sparse));
            try (Transformer.State s = t.newState(ops, f.config().contextLength(), 16)) {
                float[] logits = new float[f.config().vocabSize()];
                int[] tokens = new int[16];
                java.util.Arrays.fill(tokens, 1);
                int[] token = {1};
                long[] workers = Thread.getAllStackTraces().keySet().stream().filter(th -> th.getName().startsWith("longbow-cpu-"))
                        .mapToLong(Thread::threadId).toArray();
                long best = Long.MAX_VALUE, deadline = System.nanoTime() + 20_000_000_000L;
                while (best >= 64 && System.nanoTime() < deadline) {
                    t.forward(ops, s, tokens, 16, 0, logits);
                    for (int pos = 16; pos < 350; pos++) t.forward(ops, s, token, 1, pos, logits);
                    long before = allocated(workers);
                    int steps = 150;
                    for (int pos = 350; pos < 350 + steps; pos++) t.forward(ops, s, token, 1, pos, logits);
                    best = Math.min(best, (allocated(workers) - before) / steps);
                }
                assertTrue(s.cache().scoresSkipped() > 0, sparse + " skipped nothing");
                return best;
            }
        }
    }

    @Test
    void decodeStepsAllocateNothingOnceWarm() {
        for (SparseAttention sparse : new SparseAttention[]{SparseAttention.of(SparsePattern.LOCAL_GLOBAL).withBlocks(16, 2, 1),
                SparseAttention.of(SparsePattern.LSH).withBlocks(16, 0, 0)}) {
            long perStep = bytesPerDecodeStep(sparse);
            assertTrue(perStep < 64, sparse + ": " + perStep + " bytes allocated per decode step");
        }
    }
}
