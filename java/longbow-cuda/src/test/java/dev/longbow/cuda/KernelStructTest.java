package dev.longbow.cuda;

import dev.longbow.cuda.kernels.AddKernel;
import dev.longbow.cuda.kernels.ArgmaxKernel;
import dev.longbow.cuda.kernels.AttentionKernel;
import dev.longbow.cuda.kernels.ConvertKernel;
import dev.longbow.cuda.kernels.EmbedKernel;
import dev.longbow.cuda.kernels.GemmInt8Kernel;
import dev.longbow.cuda.kernels.GemmKernel;
import dev.longbow.cuda.kernels.GemvInt8Kernel;
import dev.longbow.cuda.kernels.GemvKernel;
import dev.longbow.cuda.kernels.GemvS24Kernel;
import dev.longbow.cuda.kernels.KvStoreKernel;
import dev.longbow.cuda.kernels.ParamStruct;
import dev.longbow.cuda.kernels.RmsNormKernel;
import dev.longbow.cuda.kernels.RopeKernel;
import dev.longbow.cuda.kernels.SampleKernel;
import dev.longbow.cuda.kernels.SwiGluKernel;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The Java parameter blocks against the C structs the kernels take by value: every field's offset, and the size,
 * computed from cuda-kernels/ with the x86-64/CUDA layout rules (natural alignment), and the size each file's
 * static_assert states. A field added on one side only fails here, not as garbage on a GPU.
 */
class KernelStructTest {
    static final List<ParamStruct> JAVA = List.of(EmbedKernel.PARAMS, RmsNormKernel.PARAMS, RopeKernel.PARAMS, SwiGluKernel.PARAMS,
            AddKernel.PARAMS, ConvertKernel.PARAMS, GemvKernel.PARAMS, GemvInt8Kernel.PARAMS, GemvInt8Kernel.DEQUANT_PARAMS, GemvS24Kernel.PARAMS, GemmKernel.PARAMS, GemmInt8Kernel.PARAMS, GemmInt8Kernel.QUANTIZE_PARAMS, KvStoreKernel.PARAMS,
            AttentionKernel.PARAMS, ArgmaxKernel.PARAMS, SampleKernel.PARAMS);

    record CStruct(Map<String, Long> offsets, long size, long asserted) {}

    static Path kernelsDir() {
        return Path.of(System.getProperty("longbow.root", "../..")).resolve("cuda-kernels");
    }

    static Map<String, CStruct> parse(Path dir) throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).sorted().toList()) {
                all.append(Files.readString(f)).append('\n');
            }
        }
        String src = all.toString().replaceAll("//[^\n]*", "");
        Map<String, CStruct> out = new HashMap<>();
        Matcher m = Pattern.compile("struct (\\w+Params) \\{(.*?)\\};", Pattern.DOTALL).matcher(src);
        while (m.find()) {
            Map<String, Long> offsets = new LinkedHashMap<>();
            long at = 0, align = 1;
            for (String decl : m.group(2).split(";")) {
                decl = decl.trim().replaceAll("\\s+", " ");
                if (decl.isEmpty()) continue;
                Matcher d = Pattern.compile("(.*?)([\\w]+(?:, ?\\w+)*)$").matcher(decl);
                if (!d.matches()) throw new AssertionError("cannot read declaration: " + decl);
                String type = d.group(1).trim();
                long size = type.contains("*") || type.contains("long long") || type.contains("size_t") ? 8
                        : type.matches("(const )?(int|float|unsigned( int)?)") ? 4 : -1;
                if (size < 0) throw new AssertionError("unknown field type in " + m.group(1) + ": " + type);
                for (String name : d.group(2).split(", ?")) {
                    at = (at + size - 1) / size * size;
                    offsets.put(name, at);
                    at += size;
                    align = Math.max(align, size);
                }
            }
            long size = (at + align - 1) / align * align;
            Matcher a = Pattern.compile("static_assert\\(sizeof\\(" + m.group(1) + "\\) == (\\d+)").matcher(src);
            out.put(m.group(1), new CStruct(offsets, size, a.find() ? Long.parseLong(a.group(1)) : -1));
        }
        return out;
    }

    @Test
    void javaParameterBlocksMatchTheCStructs() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(kernelsDir()),
                "no cuda-kernels/ sources here (" + kernelsDir() + "): a packaged runtime has only the compiled fatbin");
        Map<String, CStruct> c = parse(kernelsDir());
        assertEquals(JAVA.size(), c.size(), "one Java mirror per C parameter struct: " + c.keySet());
        for (ParamStruct j : JAVA) {
            CStruct s = c.get(j.cName());
            assertNotNull(s, j.cName() + " not found in cuda-kernels/");
            assertEquals(s.size(), s.asserted(), j.cName() + ": computed size vs its static_assert");
            assertEquals(s.size(), j.size(), j.cName() + ": size");
            Map<String, Long> javaOffsets = new LinkedHashMap<>();
            for (MemoryLayout f : j.layout().memberLayouts()) javaOffsets.put(f.name().orElseThrow(), j.offset(f.name().orElseThrow()));
            assertEquals(s.offsets(), javaOffsets, j.cName() + ": field names and offsets");
        }
    }
}
