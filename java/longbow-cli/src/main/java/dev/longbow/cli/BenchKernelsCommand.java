package dev.longbow.cli;

import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.GpuDrivers;
import dev.longbow.cuda.bench.KernelBench;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Times the CUDA kernels on this machine's GPU (docs/GPU.md); one line saying why when there is none. */
final class BenchKernelsCommand implements Command {
    @Override
    public String name() {
        return "bench-kernels";
    }

    @Override
    public String summary() {
        return "time the CUDA kernels: GEMM and prefill attention TFLOP/s, decode attention and GEMV GB/s";
    }

    @Override
    public String help() {
        return """
                usage: longbow bench-kernels [--quick] [--json] [--gpu-binding ffm|jcuda]

                Times every hot kernel with CUDA events on GPU 0: the tensor-core GEMM (4096^3 and Llama-3-8B's
                projections at 2048 tokens; cuBLAS on the same buffers when it is found), prefill attention (causal,
                head dims 64/128, sequences 1k/4k/16k), decode attention (Llama-3-8B heads, contexts 4k/32k) and the
                decode GEMV.

                  --quick             one shape each, fewer repeats
                  --json              one JSON object: device, binding, results
                  --gpu-binding B     ffm (default: Panama FFM over libcuda) or jcuda (JCuda's driver API)
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--gpu-binding");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--quick", "--json");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        try (GpuDriver d = GpuDrivers.open(a.str("--gpu-binding", null), 0); CudaKernels k = new CudaKernels(d)) {
            List<KernelBench.Result> results = new KernelBench(k, a.has("--quick")).run();
            if (a.has("--json")) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("device", d.device().toString());
                o.put("binding", d.description());
                List<Object> rows = new ArrayList<>();
                for (KernelBench.Result r : results) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("kernel", r.kernel());
                    m.put("shape", r.shape());
                    m.put("ms", r.millis());
                    m.put(r.unit().equals("TFLOP/s") ? "tflops" : "gbps", r.value());
                    if (!Double.isNaN(r.peer()) && r.peerName().equals("cuBLAS")) m.put("cublas_tflops", r.peer());
                    if (!Double.isNaN(r.peerMillis())) {
                        m.put(r.peerName() + "_ms", r.peerMillis());
                        m.put("speedup_vs_" + r.peerName(), r.peerMillis() / r.millis());
                    }
                    rows.add(m);
                }
                o.put("results", rows);
                out.println(Json.write(o));
            } else {
                out.println(d.device() + " via " + d.description());
                for (KernelBench.Result r : results) {
                    out.printf(Locale.ROOT, "%-24s %-50s %9.3f ms %9.1f %s%s%n", r.kernel(), r.shape(), r.millis(), r.value(), r.unit(),
                            Double.isNaN(r.peer()) ? "" : !Double.isNaN(r.peerMillis())
                                    ? String.format(Locale.ROOT, "  (%s %.3f ms, %.1f %s; %.2fx faster)", r.peerName(), r.peerMillis(), r.peer(), r.unit(), r.peerMillis() / r.millis())
                                    : String.format(Locale.ROOT, "  (%s %.1f, ratio %.2f)", r.peerName(), r.peer(), r.value() / r.peer()));
                }
            }
        }
        return 0;
    }
}
