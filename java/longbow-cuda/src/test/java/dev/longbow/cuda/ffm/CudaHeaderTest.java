package dev.longbow.cuda.ffm;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The FFM signatures against the CUDA toolkit's cuda.h (no GPU needed, only the header): every symbol Longbow binds is
 * the one the header maps its plain name to (cuMemAlloc -> cuMemAlloc_v2: binding the legacy one would be another
 * ABI), and each parameter's C type has the layout we pass. Skips when no toolkit header is installed.
 */
class CudaHeaderTest {
    static String header;

    static Path findHeader() {
        List<Path> candidates = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) candidates.add(Path.of(home, "include", "cuda.h"));
        candidates.add(Path.of("/usr/local/cuda/include/cuda.h"));
        candidates.add(Path.of("/usr/include/cuda.h"));
        return candidates.stream().filter(Files::isRegularFile).findFirst().orElse(null);
    }

    @BeforeAll
    static void read() throws IOException {
        Path h = findHeader();
        assumeTrue(h != null, "no cuda.h (CUDA_HOME, /usr/local/cuda, /usr/include): the CUDA toolkit is not installed here");
        header = Files.readString(h).replaceAll("/\\*.*?\\*/", "");
    }

    static final Map<String, ValueLayout> SCALARS = Map.ofEntries(
            Map.entry("CUdevice", JAVA_INT), Map.entry("int", JAVA_INT), Map.entry("unsigned int", JAVA_INT),
            Map.entry("CUresult", JAVA_INT), Map.entry("CUfunction_attribute", JAVA_INT), Map.entry("CUdevice_attribute", JAVA_INT),
            Map.entry("CUstreamCaptureMode", JAVA_INT), Map.entry("CUdeviceptr", JAVA_LONG), Map.entry("size_t", JAVA_LONG),
            Map.entry("unsigned long long", JAVA_LONG), Map.entry("unsigned char", JAVA_BYTE),
            Map.entry("CUcontext", ADDRESS), Map.entry("CUmodule", ADDRESS), Map.entry("CUfunction", ADDRESS),
            Map.entry("CUstream", ADDRESS), Map.entry("CUevent", ADDRESS), Map.entry("CUgraph", ADDRESS), Map.entry("CUgraphExec", ADDRESS));

    static ValueLayout layoutOf(String param) {
        String p = param.trim().replaceAll("\\s+", " ");
        if (p.contains("*")) return ADDRESS;
        String type = p.replaceAll("\\s*\\w+$", "").replaceFirst("^const ", "");
        ValueLayout l = SCALARS.get(type);
        if (l == null) throw new AssertionError("no layout known for the C type '" + type + "' (in '" + param + "')");
        return l;
    }

    @Test
    void everyBoundSymbolHasTheHeadersSignature() {
        for (CudaSymbol s : CudaSymbol.values()) {
            // Declared under its own name, or under the plain name a #define turns into it.
            Matcher m = Pattern.compile("CUresult CUDAAPI " + s.name() + "\\((.*?)\\);", Pattern.DOTALL).matcher(header);
            if (!m.find()) m = Pattern.compile("CUresult CUDAAPI " + plain(s) + "\\((.*?)\\);", Pattern.DOTALL).matcher(header);
            else m.reset();
            assertTrue(m.find(), s.name() + " is not declared in cuda.h");
            String params = m.group(1).trim();
            List<ValueLayout> expected = new ArrayList<>();
            if (!params.equals("void")) for (String p : params.split(",")) expected.add(layoutOf(p));
            assertEquals(expected, s.parameters(), s.name() + "(" + params.replaceAll("\\s+", " ") + ")");
        }
    }

    static String plain(CudaSymbol s) {
        return s == CudaSymbol.cuGraphInstantiateWithFlags ? "cuGraphInstantiate" : s.name().replaceAll("_v\\d+$", "");
    }

    @Test
    void everyBoundSymbolIsTheVersionThePlainNameMapsTo() {
        for (CudaSymbol s : CudaSymbol.values()) {
            String plain = plain(s);
            Matcher m = Pattern.compile("#define " + plain + "\\s+(?:__CUDA_API_PTSZ\\()?(\\w+)").matcher(header);
            String mapped = m.find() ? m.group(1) : plain;
            // A toolkit older than the symbol (cuEventElapsedTime_v2: 12.8) maps the plain name to the fallback we bind there.
            if (!mapped.equals(s.fallback())) assertEquals(mapped, s.name(), "cuda.h maps " + plain + " to " + mapped);
        }
    }

    @Test
    void errorNamesHaveTheHeadersCodes() {
        for (Map.Entry<Integer, String> e : CudaErrors.NAMES.entrySet()) {
            Matcher m = Pattern.compile("\\b" + e.getValue() + "\\s*=\\s*(\\d+)").matcher(header);
            assertTrue(m.find(), e.getValue() + " is not in cuda.h");
            assertEquals(e.getKey(), Integer.parseInt(m.group(1)), e.getValue());
        }
    }

    @Test
    void constantsHaveTheHeadersValues() throws IllegalAccessException {
        for (java.lang.reflect.Field f : dev.longbow.cuda.CudaConstants.class.getFields()) {
            Matcher m = Pattern.compile("\\b" + f.getName() + "\\s*=\\s*(0x[0-9a-fA-F]+|\\d+)").matcher(header);
            assertTrue(m.find(), f.getName() + " is not in cuda.h");
            assertEquals(Integer.decode(m.group(1)), f.getInt(null), f.getName());
        }
    }
}
