package dev.longbow.bench;

import java.util.SplittableRandom;

/** What the load benchmarks share: Poisson arrivals and percentiles. */
final class Load {
    private Load() {}

    /** The time to the next arrival of a Poisson process at {@code rate} per second: an exponential gap. */
    static long gapNanos(SplittableRandom random, double rate) {
        return (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
    }

    /** The p-th quantile of sorted values (nearest rank); NaN when there are none. */
    static double pct(double[] sorted, double p) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))];
    }
}
