package dev.longbow.backend.cpu;

import dev.longbow.LongbowException;
import dev.longbow.backend.SparseAttention;

import java.util.SplittableRandom;

/**
 * Reformer's angular LSH over the cached keys, kept beside the KV cache for {@code LSH} sparse attention. A vector's
 * bucket in a round is the argmax over [xR; -xR] for a random Gaussian matrix R of headDim x buckets/2, drawn from a
 * fixed seed per (layer, kv head, round) so runs are repeatable. Each key is hashed once, when its position is first
 * attended to, and threaded onto a chain of the positions in its bucket, newest first: a query walks only the keys
 * it shares a bucket with, not the whole sequence. A query uses its kv head's matrices.
 */
final class LshIndex {
    private static final long SEED = 0x5EED_15A5L;

    private final int contextLength, kvHeads, headDim, buckets, rounds, half;
    private Layer[] layers = new Layer[0];

    /** One layer's hashes and chains; each array is [kvHead][round] blocks. */
    private final class Layer {
        /** [kvHead][round][half][headDim], each column of R contiguous so it can be dotted with a cached key. */
        final float[] rotations;
        /** [kvHead][round][position]: the key's bucket. */
        final short[] bucket;
        /** [kvHead][round][position]: the next older position in the same bucket, or -1. */
        final int[] older;
        /** [kvHead][round][bucket]: the newest position in the bucket, or -1. */
        final int[] newest;
        /** Positions [0, hashed) are indexed. */
        int hashed;

        Layer(int layer) {
            long cells = (long) kvHeads * rounds * contextLength;
            if (cells > Integer.MAX_VALUE - 8) {
                throw new LongbowException("the LSH index for a context of " + contextLength + " tokens is too large; use fewer rounds or a smaller --ctx");
            }
            rotations = new float[kvHeads * rounds * half * headDim];
            SplittableRandom r = new SplittableRandom(SEED + 0x9E3779B97F4A7C15L * (layer + 1));
            for (int i = 0; i < rotations.length; i++) rotations[i] = (float) gaussian(r);
            bucket = new short[(int) cells];
            older = new int[(int) cells];
            newest = new int[kvHeads * rounds * buckets];
            java.util.Arrays.fill(newest, -1);
        }
    }

    LshIndex(SparseAttention s, int contextLength, int kvHeads, int headDim) {
        this.contextLength = contextLength;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.buckets = s.lshBuckets();
        this.rounds = s.lshRounds();
        this.half = buckets / 2;
    }

    boolean fits(SparseAttention s) {
        return s.lshBuckets() == buckets && s.lshRounds() == rounds;
    }

    int rounds() {
        return rounds;
    }

    private Layer layer(int layer) {
        if (layer >= layers.length) layers = java.util.Arrays.copyOf(layers, layer + 1);
        if (layers[layer] == null) layers[layer] = new Layer(layer);
        return layers[layer];
    }

    /**
     * Brings the index of {@code layer} up to the keys of positions [0, end), of which [startPos, end) were just
     * stored: positions at or after startPos that were indexed before hold new keys now (the sequence is being re-run)
     * and are unthreaded first.
     */
    void update(CpuKvCache cache, int layer, int startPos, int end) {
        Layer l = layer(layer);
        if (startPos < l.hashed) truncate(l, startPos);
        for (int pos = l.hashed; pos < end; pos++) {
            for (int h = 0; h < kvHeads; h++) {
                for (int r = 0; r < rounds; r++) {
                    int hr = h * rounds + r;
                    int b = keyBucket(cache, l, layer, pos, h, r);
                    l.bucket[hr * contextLength + pos] = (short) b;
                    l.older[hr * contextLength + pos] = l.newest[hr * buckets + b];
                    l.newest[hr * buckets + b] = pos;
                }
            }
        }
        l.hashed = Math.max(l.hashed, end);
    }

    private void truncate(Layer l, int from) {
        for (int hr = 0; hr < kvHeads * rounds; hr++) {
            for (int b = 0; b < buckets; b++) {
                int n = l.newest[hr * buckets + b];
                while (n >= from) n = l.older[hr * contextLength + n];
                l.newest[hr * buckets + b] = n;
            }
        }
        l.hashed = from;
    }

    private int keyBucket(CpuKvCache cache, Layer l, int layer, int pos, int kvHead, int round) {
        if (buckets == 1) return 0;
        int ro = (kvHead * rounds + round) * half * headDim;
        int best = 0;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < half; j++) {
            float y = cache.dotKey(l.rotations, ro + j * headDim, layer, pos, kvHead);
            if (y > bestValue) { bestValue = y; best = j; }
            if (-y > bestValue) { bestValue = -y; best = half + j; }
        }
        return best;
    }

    /** The bucket of the cached key at {@code pos} in {@code round}. */
    int keyBucket(int layer, int kvHead, int round, int pos) {
        return layers[layer].bucket[(kvHead * rounds + round) * contextLength + pos];
    }

    /** The bucket of a query of {@code kvHead}'s group in {@code round}. */
    int queryBucket(float[] q, int qo, int layer, int kvHead, int round) {
        if (buckets == 1) return 0;
        float[] rot = layers[layer].rotations;
        int ro = (kvHead * rounds + round) * half * headDim;
        int best = 0;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < half; j++) {
            float y = 0f;
            for (int i = 0; i < headDim; i++) y += q[qo + i] * rot[ro + j * headDim + i];
            if (y > bestValue) { bestValue = y; best = j; }
            if (-y > bestValue) { bestValue = -y; best = half + j; }
        }
        return best;
    }

    /**
     * Adds to {@code out}, ascending, the positions in [from, below) (all after its ranges) whose key shares a bucket with the query in any
     * round; {@code cursors} holds one int per round. Cost: the keys found plus the newer ones skipped, per round.
     */
    void gather(float[] q, int qo, int layer, int kvHead, int from, int below, int[] cursors, KeySpans out) {
        Layer l = layers[layer];
        for (int r = 0; r < rounds; r++) {
            int hr = kvHead * rounds + r;
            int n = l.newest[hr * buckets + queryBucket(q, qo, layer, kvHead, r)];
            while (n >= below) n = l.older[hr * contextLength + n];
            cursors[r] = n;
        }
        int first = out.count();
        while (true) {
            int p = -1;
            for (int r = 0; r < rounds; r++) p = Math.max(p, cursors[r]);
            if (p < from) break;
            out.addBelow(p);
            for (int r = 0; r < rounds; r++) {
                if (cursors[r] == p) cursors[r] = l.older[(kvHead * rounds + r) * contextLength + p];
            }
        }
        out.reverseFrom(first);
    }

    private static double gaussian(SplittableRandom r) {
        // Box-Muller written out: the JDK does not specify nextGaussian's algorithm, and the hashes must not change with it.
        double u = 1 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
}
