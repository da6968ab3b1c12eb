package dev.longbow.util;

/** The machine's physical memory (its cgroup limit inside a container), read once: each query reads the OS's files. */
public final class SystemMemory {
    public static final long TOTAL_BYTES =
            ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();

    private SystemMemory() {}
}
