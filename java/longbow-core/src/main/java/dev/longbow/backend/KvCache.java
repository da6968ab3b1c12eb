package dev.longbow.backend;

/** Keys and values of every cached position, per layer; owned by the backend that allocated it. */
public interface KvCache extends AutoCloseable {
    int contextLength();

    /** Query-key dot products attention has computed over this cache so far (every layer and head). */
    default long scoresComputed() {
        return 0;
    }

    /** The dot products dense causal attention would have computed for the same queries. */
    default long scoresDense() {
        return 0;
    }

    /** The fraction of dense attention's score FLOPs that windows and sparse patterns skipped (0 when none were run). */
    default double scoresSkipped() {
        long dense = scoresDense();
        return dense == 0 ? 0 : 1 - (double) scoresComputed() / dense;
    }

    @Override
    void close();
}
