package dev.longbow.cuda;

/** What the driver reports of a GPU: enough to pick kernels and to state the bandwidth bound of a benchmark. */
public record DeviceInfo(int ordinal, String name, int major, int minor, int multiprocessors, long totalMemory,
                         int memoryClockKHz, int busWidthBits) {
    public String computeCapability() {
        return major + "." + minor;
    }

    /** Theoretical DRAM bandwidth in bytes per second (double data rate); 0 when the driver does not say. */
    public double peakBandwidth() {
        return 2.0 * memoryClockKHz * 1e3 * busWidthBits / 8;
    }

    @Override
    public String toString() {
        return name + " (sm_" + major + minor + ", " + multiprocessors + " SMs, " + (totalMemory >> 20) + " MiB)";
    }
}
