package dev.longbow.cuda;

import dev.longbow.cuda.kernels.CudaKernels;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fatbin in the jar holds SASS (ELF) for sm_80, sm_86, sm_89, sm_90 and compute_80 PTX, and every SASS image
 * defines every kernel the host looks up. Reads the fatbin container directly (magic 0xBA55ED50; per entry: kind
 * 1 = PTX / 2 = ELF at 0, header size at 4, payload size at 8, architecture at 28), so no CUDA tool is needed.
 * Skips where the build had no nvcc.
 */
class FatbinTest {
    record Entry(int kind, int arch, byte[] payload) {}

    static List<Entry> entries(byte[] fatbin) {
        ByteBuffer b = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xBA55ED50, b.getInt(0), "fatbin magic");
        int header = b.getShort(6);
        long size = b.getLong(8);
        List<Entry> out = new ArrayList<>();
        for (long at = header; at < header + size; ) {
            int kind = b.getShort((int) at), entryHeader = b.getInt((int) at + 4);
            long payload = b.getLong((int) at + 8);
            int arch = b.getInt((int) at + 28);
            byte[] bytes = new byte[(int) payload];
            b.get((int) (at + entryHeader), bytes);
            out.add(new Entry(kind, arch, bytes));
            at += entryHeader + payload;
        }
        return out;
    }

    @Test
    void everyArchitectureAndEveryKernelIsInTheFatbin() {
        assumeTrue(CudaKernels.present(), "this build has no CUDA kernels (no nvcc when it was built)");
        List<Entry> entries = entries(CudaKernels.fatbin());
        assertEquals(List.of("PTX 80", "SASS 80", "SASS 86", "SASS 89", "SASS 90"),
                entries.stream().map(e -> (e.kind() == 1 ? "PTX " : e.kind() == 2 ? "SASS " : "kind" + e.kind() + " ") + e.arch()).sorted().toList());
        for (Entry e : entries) {
            if (e.kind() != 2) continue;
            String elf = new String(e.payload(), StandardCharsets.ISO_8859_1);
            assertTrue(elf.startsWith("\u007fELF"), "sm_" + e.arch() + " image is an ELF file");
            for (String k : CudaKernels.NAMES) assertTrue(elf.contains(".text." + k + "\0"), k + " in sm_" + e.arch());
        }
    }
}
