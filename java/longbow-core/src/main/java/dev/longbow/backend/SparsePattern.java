package dev.longbow.backend;

import dev.longbow.LongbowException;

import java.util.Locale;

/**
 * Which keys a query scores beyond the causal mask: all of them ({@code NONE}), a local window plus global blocks
 * ({@code LOCAL_GLOBAL}), or the keys hashed to the query's bucket ({@code LSH}).
 */
public enum SparsePattern {
    NONE, LOCAL_GLOBAL, LSH;

    public String key() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static SparsePattern parse(String name) {
        for (SparsePattern p : values()) if (p.key().equals(name)) return p;
        throw new LongbowException("unknown sparse attention '" + name + "' (one of none, local-global, lsh)");
    }
}
