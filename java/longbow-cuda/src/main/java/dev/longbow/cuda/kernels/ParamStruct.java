package dev.longbow.cuda.kernels;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * The Java mirror of one kernel's parameter struct (cuda-kernels/*.cu): fields named as in C, device pointers as
 * 64-bit integers. KernelStructTest parses the C structs and checks every offset and the size against these.
 */
public record ParamStruct(String cName, StructLayout layout) {
    public static ParamStruct of(String cName, MemoryLayout... fields) {
        return new ParamStruct(cName, MemoryLayout.structLayout(fields));
    }

    public long offset(String field) {
        return layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
    }

    public long size() {
        return layout.byteSize();
    }
}
