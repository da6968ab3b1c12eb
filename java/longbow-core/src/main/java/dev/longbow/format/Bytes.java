package dev.longbow.format;

import dev.longbow.LongbowException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A little-endian cursor over a mapped file that checks every read against the file's end, so a truncated or
 * lying header becomes a {@link LongbowException} naming the file and offset rather than an index exception.
 */
final class Bytes {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final MemorySegment seg;
    final String file;
    long pos;

    Bytes(MemorySegment seg, String file) {
        this.seg = seg;
        this.file = file;
    }

    long remaining() {
        return seg.byteSize() - pos;
    }

    void need(long n, String what) {
        if (n < 0 || n > remaining()) {
            throw new LongbowException(file + ": truncated or corrupt: " + what + " needs " + n + " bytes at offset " + pos
                    + " but the file has " + remaining() + " left");
        }
    }

    byte i8() {
        need(1, "a byte");
        return seg.get(ValueLayout.JAVA_BYTE, pos++);
    }

    short i16() {
        need(2, "a 16-bit value");
        short v = seg.get(I16, pos);
        pos += 2;
        return v;
    }

    int i32() {
        need(4, "a 32-bit value");
        int v = seg.get(I32, pos);
        pos += 4;
        return v;
    }

    long i64() {
        need(8, "a 64-bit value");
        long v = seg.get(I64, pos);
        pos += 8;
        return v;
    }

    float f32() {
        need(4, "a float");
        float v = seg.get(F32, pos);
        pos += 4;
        return v;
    }

    double f64() {
        need(8, "a double");
        double v = seg.get(F64, pos);
        pos += 8;
        return v;
    }

    byte[] bytes(long n, String what) {
        need(n, what);
        if (n > Integer.MAX_VALUE - 8) throw new LongbowException(file + ": " + what + " of " + n + " bytes is absurd");
        byte[] b = new byte[(int) n];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, (int) n);
        pos += n;
        return b;
    }

    /** Strict UTF-8: malformed bytes in a name are corruption, not something to paper over. */
    String utf8(long n, String what) {
        byte[] b = bytes(n, what);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return new String(b, StandardCharsets.UTF_8);
        }
    }
}
