package dev.longbow.cuda;

import dev.longbow.LongbowException;
import dev.longbow.cuda.ffm.CudaLibrary;
import dev.longbow.cuda.ffm.FfmCudaDriver;

/** Opens a {@link GpuDriver} by binding name; every way it can fail is a one-line LongbowException saying why. */
public final class GpuDrivers {
    public static final String FFM = "ffm", JCUDA = "jcuda";

    private GpuDrivers() {}

    public static GpuDriver open(String binding, int ordinal) {
        String b = binding == null ? FFM : binding;
        return switch (b) {
            case FFM -> new FfmCudaDriver(CudaLibrary.system(), ordinal);
            case JCUDA -> openJCuda(ordinal);
            default -> throw new LongbowException("unknown GPU binding '" + b + "': ffm (Panama FFM over libcuda, the default) or jcuda (JCuda's driver API)");
        };
    }

    /** Why JCuda could not load, from the first attempt: later ones only say its class failed to initialize. */
    private static volatile String jcudaFailure;

    /**
     * JCuda's JNI library loads with its first class and needs libcuda.so.1 (and its own jars on the class path): any
     * of that missing is a LinkageError, said here in one line.
     */
    private static GpuDriver openJCuda(int ordinal) {
        try {
            return new dev.longbow.cuda.jcuda.JCudaGpuDriver(ordinal);
        } catch (LinkageError e) {
            if (jcudaFailure == null) jcudaFailure = linkFailure(e);
            throw new LongbowException("the JCuda binding cannot load: " + jcudaFailure);
        }
    }

    /** JCuda's load errors carry whole stack traces in their messages: the library that could not be opened, or the first line. */
    static String linkFailure(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) all.append(t).append('\n');
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([\\w.+-]+\\.so[\\w.]*): cannot open shared object file").matcher(all);
        if (m.find()) return m.group(1) + " cannot be opened (no NVIDIA driver here?)";
        String first = all.toString().split("\n|\t|---\\(start", 2)[0].strip();
        return first.length() > 200 ? first.substring(0, 200) + "..." : first;
    }

    /** Null when a driver and GPU can be opened (and closes it again), else the one-line reason. */
    public static String unavailableReason(String binding) {
        try (GpuDriver d = open(binding, 0)) {
            return null;
        } catch (LongbowException e) {
            return e.getMessage();
        }
    }
}
