package dev.longbow.format;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import dev.longbow.tensor.WeightType;

/**
 * Writes GGUF v3. Tensor bytes are produced one tensor at a time by a supplier, so converting a large model
 * never holds more than one tensor in memory. The file appears atomically (written beside, then moved).
 */
public final class GgufWriter {
    private GgufWriter() {}

    /** A tensor to write; {@code shape} is outermost-first like {@link dev.longbow.tensor.Tensor}. */
    public record OutTensor(String name, WeightType type, long[] shape, Supplier<MemorySegment> data) {
        long bytes() {
            long n = 1;
            for (long d : shape) n *= d;
            long cols = shape[shape.length - 1];
            return type.tensorBytes(n / cols, cols);
        }
    }

    public static void write(Path out, Map<String, GgufValue> metadata, List<OutTensor> tensors) throws IOException {
        int alignment = Gguf.DEFAULT_ALIGNMENT;
        if (metadata.containsKey("general.alignment")) alignment = (int) metadata.get("general.alignment").asLong();

        Buf header = new Buf();
        header.i32(Gguf.MAGIC).i32(3).i64(tensors.size()).i64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            header.str(e.getKey()).i32(e.getValue().type().ordinal());
            value(header, e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        for (OutTensor t : tensors) {
            header.str(t.name()).i32(t.shape().length);
            for (int d = t.shape().length - 1; d >= 0; d--) header.i64(t.shape()[d]);
            header.i32(t.type().ggmlId).i64(offset);
            offset = align(offset + t.bytes(), alignment);
        }

        Path tmp = out.resolveSibling(out.getFileName() + ".partial");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer h = header.done();
            writeFully(ch, h);
            long pos = h.limit();
            pad(ch, align(pos, alignment) - pos);
            for (OutTensor t : tensors) {
                MemorySegment seg = t.data().get();
                if (seg.byteSize() != t.bytes()) {
                    throw new IllegalStateException(t.name() + ": expected " + t.bytes() + " bytes, got " + seg.byteSize());
                }
                for (long o = 0; o < seg.byteSize(); o += 1 << 30) {
                    writeFully(ch, seg.asSlice(o, Math.min(1L << 30, seg.byteSize() - o)).asByteBuffer());
                }
                pad(ch, align(t.bytes(), alignment) - t.bytes());
            }
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static long align(long x, long a) {
        return (x + a - 1) / a * a;
    }

    private static void pad(FileChannel ch, long n) throws IOException {
        if (n > 0) writeFully(ch, ByteBuffer.allocate((int) n));
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void value(Buf b, GgufValue.Type type, Object v) {
        switch (type) {
            case UINT8, INT8 -> b.i8(((Number) v).intValue());
            case UINT16, INT16 -> b.i16(((Number) v).intValue());
            case UINT32, INT32 -> b.i32(((Number) v).intValue());
            case UINT64, INT64 -> b.i64(((Number) v).longValue());
            case FLOAT32 -> b.i32(Float.floatToRawIntBits(((Number) v).floatValue()));
            case FLOAT64 -> b.i64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case BOOL -> b.i8((Boolean) v ? 1 : 0);
            case STRING -> b.str((String) v);
            case ARRAY -> {
                GgufValue.Array a = (GgufValue.Array) v;
                b.i32(a.elementType().ordinal()).i64(a.items().size());
                for (Object item : a.items()) {
                    value(b, a.elementType(), item instanceof GgufValue g ? g.value() : item);
                }
            }
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class Buf {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        Buf i8(int v) { ensure(1); buf.put((byte) v); return this; }
        Buf i16(int v) { ensure(2); buf.putShort((short) v); return this; }
        Buf i32(int v) { ensure(4); buf.putInt(v); return this; }
        Buf i64(long v) { ensure(8); buf.putLong(v); return this; }

        Buf str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            ensure(b.length);
            buf.put(b);
            return this;
        }

        ByteBuffer done() {
            buf.flip();
            return buf;
        }
    }
}
