package dev.longbow.format;

import dev.longbow.LongbowException;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.util.Json;

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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face safetensors: a u64 header length, a JSON header mapping names to dtype, shape and byte range,
 * then the data. Every range is checked against the file before a tensor views it.
 */
public final class Safetensors {
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {}

    /** Tensors of one file, under their Hugging Face names. */
    public static Map<String, Tensor> read(MemorySegment file, String name) {
        Bytes in = new Bytes(file, name);
        long headerLen = in.i64();
        if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > in.remaining()) {
            throw new LongbowException(name + ": safetensors header length " + headerLen + " does not fit the file");
        }
        String json = new String(in.bytes(headerLen, "safetensors header"), StandardCharsets.UTF_8);
        Map<String, Object> header = Json.parseObject(json, name + ": safetensors header");
        long dataStart = 8 + headerLen;
        long dataSize = file.byteSize() - dataStart;
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) continue;
            String tname = e.getKey();
            if (!(e.getValue() instanceof Map<?, ?> info)) throw new LongbowException(name + ": tensor '" + tname + "' entry is not an object");
            Object dtype = info.get("dtype");
            WeightType type = switch (String.valueOf(dtype)) {
                case "F32" -> WeightType.F32;
                case "F16" -> WeightType.F16;
                case "BF16" -> WeightType.BF16;
                default -> throw new LongbowException(name + ": tensor '" + tname + "' has dtype " + dtype + " (supported: F32, F16, BF16)");
            };
            if (!(info.get("shape") instanceof List<?> shapeList) || shapeList.size() > 8) {
                throw new LongbowException(name + ": tensor '" + tname + "' has no valid shape");
            }
            long[] shape = new long[Math.max(1, shapeList.size())];
            shape[0] = 1;
            long elements = 1;
            for (int i = 0; i < shapeList.size(); i++) {
                if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > (1L << 40)) {
                    throw new LongbowException(name + ": tensor '" + tname + "' has bad dimension " + shapeList.get(i));
                }
                shape[i] = d;
                elements = Math.multiplyExact(elements, d);
                if (elements > dataSize) throw new LongbowException(name + ": tensor '" + tname + "' is larger than the file");
            }
            if (!(info.get("data_offsets") instanceof List<?> offs) || offs.size() != 2
                    || !(offs.get(0) instanceof Long begin) || !(offs.get(1) instanceof Long end)) {
                throw new LongbowException(name + ": tensor '" + tname + "' has no valid data_offsets");
            }
            if (begin < 0 || end < begin || end > dataSize) {
                throw new LongbowException(name + ": tensor '" + tname + "' data_offsets [" + begin + ", " + end + "] lie outside the " + dataSize + " data bytes");
            }
            if (end - begin != type.bytesFor(elements)) {
                throw new LongbowException(name + ": tensor '" + tname + "' has " + (end - begin) + " bytes but its shape needs " + type.bytesFor(elements));
            }
            out.put(tname, new Tensor(tname, type, shape, file.asSlice(dataStart + begin, end - begin)));
        }
        return out;
    }

    /** Writes tensors (F32, F16 or BF16) as one safetensors file; used by conversion and tests. */
    public static void write(Path out, List<Tensor> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (Tensor t : tensors) {
            String dtype = switch (t.type()) {
                case F32 -> "F32";
                case F16 -> "F16";
                case BF16 -> "BF16";
                default -> throw new LongbowException("safetensors cannot hold " + t.type() + " tensor " + t.name());
            };
            long bytes = t.data().byteSize();
            List<Long> shape = new ArrayList<>();
            for (long d : t.shape()) shape.add(d);
            header.put(t.name(), Map.of("dtype", dtype, "shape", shape, "data_offsets", List.of(offset, offset + bytes)));
            offset += bytes;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        Path tmp = out.resolveSibling(out.getFileName() + ".partial");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            while (head.hasRemaining()) ch.write(head);
            for (Tensor t : tensors) {
                ByteBuffer b = t.data().asByteBuffer();
                while (b.hasRemaining()) ch.write(b);
            }
        }
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
