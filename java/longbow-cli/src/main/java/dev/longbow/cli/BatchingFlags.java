package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.Model;

/** The continuous-batching options serve and batch share: the KV memory budget and prefix sharing. */
final class BatchingFlags {
    static final String HELP = """
              --kv-memory SIZE    KV cache budget of all running sequences together, e.g. 512M or 4G (default:
                                  every place at the full context, at most half the machine's memory); past it,
                                  sequences are preempted, lowest priority and latest first, and recomputed later
              --no-prefix-cache   compute every prompt in full instead of sharing the cache of identical prefixes
            """;

    private BatchingFlags() {}

    /**
     * Turns continuous batching on for {@code places} sequences when {@code batching}; else refuses its options. A
     * backend without batching says so in one line, and the requests run their own forward passes.
     */
    static void apply(Model model, Args a, boolean batching, int places, String why, java.io.PrintStream err) {
        if (batching) {
            long budget = a.bytes("--kv-memory", 0);
            try {
                model.enableBatching(places, budget, !a.has("--no-prefix-cache"));
            } catch (UnsupportedOperationException e) {
                err.println("longbow: " + e.getMessage() + " (" + model.backend() + "): each generation runs its own forward passes");
            }
            return;
        }
        for (String option : new String[]{"--kv-memory", "--no-prefix-cache"}) {
            if (a.has(option)) throw new LongbowException(option + " applies to continuous batching, which is off: " + why);
        }
    }
}
