package dev.longbow.format;

import dev.longbow.LongbowException;
import dev.longbow.tensor.Quantizer;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufTest {
    @TempDir
    Path dir;

    @Test
    void everyMetadataTypeRoundTrips() throws Exception {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("u8", new GgufValue(GgufValue.Type.UINT8, 200L));
        md.put("i8", new GgufValue(GgufValue.Type.INT8, -5L));
        md.put("u16", new GgufValue(GgufValue.Type.UINT16, 65000L));
        md.put("i16", new GgufValue(GgufValue.Type.INT16, -30000L));
        md.put("u32", new GgufValue(GgufValue.Type.UINT32, 4000000000L));
        md.put("i32", new GgufValue(GgufValue.Type.INT32, -2000000000L));
        md.put("f32", new GgufValue(GgufValue.Type.FLOAT32, 1.5));
        md.put("bool", new GgufValue(GgufValue.Type.BOOL, true));
        md.put("str", GgufValue.string("héllo ▁ wörld"));
        md.put("u64", new GgufValue(GgufValue.Type.UINT64, Long.MAX_VALUE));
        md.put("i64", new GgufValue(GgufValue.Type.INT64, -7L));
        md.put("f64", new GgufValue(GgufValue.Type.FLOAT64, Math.PI));
        md.put("strings", GgufValue.array(GgufValue.Type.STRING, List.of("a", "", "ccc")));
        md.put("nested", GgufValue.array(GgufValue.Type.ARRAY, List.of(
                GgufValue.array(GgufValue.Type.INT32, List.of(1L, 2L)), GgufValue.array(GgufValue.Type.STRING, List.of("x")))));
        md.put("general.alignment", GgufValue.u32(64));
        float[] values = new float[64];
        for (int i = 0; i < values.length; i++) values[i] = i * 0.25f - 3;
        Path f = dir.resolve("all.gguf");
        GgufWriter.write(f, md, List.of(
                new GgufWriter.OutTensor("a", WeightType.F32, new long[]{2, 32}, () -> MemorySegment.ofArray(Quantizer.encode(WeightType.F32, values))),
                new GgufWriter.OutTensor("b", WeightType.Q8_0, new long[]{64}, () -> MemorySegment.ofArray(Quantizer.encode(WeightType.Q8_0, values)))));
        try (Arena arena = Arena.ofConfined()) {
            Gguf.Contents c = Gguf.read(ModelLoader.map(f, arena), f.toString());
            assertEquals(3, c.version());
            assertEquals(md.keySet(), c.metadata().keySet());
            for (String k : md.keySet()) {
                GgufValue want = md.get(k), got = c.metadata().get(k);
                assertEquals(want.type(), got.type(), k);
                if (want.type() != GgufValue.Type.ARRAY) assertEquals(String.valueOf(want.value()), String.valueOf(got.value()), k);
            }
            assertEquals(List.of("a", "", "ccc"), c.metadata().get("strings").asArray().items());
            GgufValue inner = (GgufValue) c.metadata().get("nested").asArray().items().get(0);
            assertEquals(List.of(1L, 2L), inner.asArray().items());
            assertArrayEquals(new long[]{2, 32}, c.tensors().get("a").shape());
            assertArrayEquals(values, c.tensors().get("a").toFloatArray());
            assertEquals(0, c.tensors().get("b").data().address() % 64 - (c.tensors().get("a").data().address() % 64));
            float[] q = c.tensors().get("b").toFloatArray();
            for (int i = 0; i < q.length; i++) assertEquals(values[i], q[i], 12.75f / 127 / 2 + 1e-3f);
        }
    }

    @Test
    void version2ReadsLikeVersion3AndOthersAreRefused() throws Exception {
        Path f = dir.resolve("v.gguf");
        GgufWriter.write(f, Map.of("k", GgufValue.string("v")), List.of());
        byte[] b = Files.readAllBytes(f);
        b[4] = 2;
        Files.write(f, b);
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(2, Gguf.read(ModelLoader.map(f, arena), "v2").version());
        }
        b[4] = 1;
        Files.write(f, b);
        try (Arena arena = Arena.ofConfined()) {
            LongbowException e = assertThrows(LongbowException.class, () -> Gguf.read(ModelLoader.map(f, arena), f.toString()));
            assertTrue(e.getMessage().contains("version 1"), e.getMessage());
        }
    }

    @Test
    void unsupportedTensorTypeIsNamed() throws Exception {
        Path f = dir.resolve("k.gguf");
        GgufWriter.write(f, Map.of(), List.of(new GgufWriter.OutTensor("w", WeightType.F32, new long[]{256},
                () -> MemorySegment.ofArray(new byte[1024]))));
        byte[] b = Files.readAllBytes(f);
        // The tensor info ends with type (u32) and offset (u64): set the type to 11 = Q3_K.
        int typeAt = 4 + 4 + 8 + 8 + 8 + 1 + 4 + 8;
        MemorySegment.ofArray(b).set(ValueLayout.JAVA_INT_UNALIGNED, typeAt, 11);
        Files.write(f, b);
        try (Arena arena = Arena.ofConfined()) {
            LongbowException e = assertThrows(LongbowException.class, () -> Gguf.read(ModelLoader.map(f, arena), f.toString()));
            assertTrue(e.getMessage().contains("Q3_K"), e.getMessage());
        }
    }
}
