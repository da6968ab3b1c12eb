package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.TestData;
import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ByteLevelTest {
    @Test
    void alphabet() {
        int inAlphabet = 0;
        for (int c = 0; c < 0x10000; c++) {
            int b = ByteLevel.byteOf((char) c);
            if (b >= 0) {
                inAlphabet++;
                assertEquals(c, ByteLevel.charOf(b));
            }
        }
        assertEquals(256, inAlphabet);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            assertEquals(printable ? b : next++, ByteLevel.charOf(b), "byte " + b);
        }
        assertEquals(0x144, next);
        assertEquals('\u0120', ByteLevel.charOf(' '));  // Ġ
        assertEquals('\u010A', ByteLevel.charOf('\n')); // Ċ
        assertEquals('\u0121', ByteLevel.charOf(0x7F));
        assertEquals('\u0142', ByteLevel.charOf(0xA0));
        assertEquals('\u0143', ByteLevel.charOf(0xAD));
        assertEquals(ByteLevel.charOf(0xFF), ByteLevel.charOf((byte) -1));
        assertEquals(-1, ByteLevel.byteOf(' '));
        assertEquals(-1, ByteLevel.byteOf('\u0144'));
    }

    /** GPT-2's vocab.json holds the alphabet as its first 256 tokens. */
    @Test
    void alphabetIsGpt2sFirst256Tokens() throws IOException {
        Map<String, Object> vocab = Json.parseObject(Files.readString(TestData.shared("vocab/gpt2/vocab.json")), "gpt2 vocab.json");
        Set<String> first = new HashSet<>();
        for (var e : vocab.entrySet()) if (((Number) e.getValue()).intValue() < 256) first.add(e.getKey());
        Set<String> ours = new HashSet<>();
        for (int b = 0; b < 256; b++) ours.add(String.valueOf(ByteLevel.charOf(b)));
        assertEquals(ours, first);
    }

    @Test
    void roundTrip() {
        byte[] all = new byte[256];
        for (int b = 0; b < 256; b++) all[b] = (byte) b;
        String s = ByteLevel.toByteLevel(all);
        assertEquals(256, s.length());
        assertArrayEquals(all, ByteLevel.fromByteLevel(s));
        StringBuilder sb = new StringBuilder("x");
        ByteLevel.appendByteLevel(all, 10, 5, sb);
        assertEquals("x" + s.substring(10, 15), sb.toString());
        assertEquals(s.substring(3, 9), ByteLevel.toByteLevel(all, 3, 6));
    }

    @Test
    void utf8OfText() {
        Random r = new Random(5);
        for (int i = 0; i < 3000; i++) {
            String text = RandomText.next(r, 20, true);
            // Java's encoder writes '?' for a lone surrogate; ours writes U+FFFD
            String repaired = text.codePoints().map(cp -> cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
            assertEquals(ByteLevel.toByteLevel(repaired.getBytes(StandardCharsets.UTF_8)), ByteLevel.toByteLevel(Utf8.encode(text, 0, text.length())));
        }
        assertEquals("Hello\u0120w\u00C3\u00B6rld", ByteLevel.toByteLevel(Utf8.encode("Hello w\u00F6rld", 0, 11)));
        // a pair cut by the range end is a lone surrogate
        assertEquals("x\u00EF\u00BF\u00BD", ByteLevel.toByteLevel(Utf8.encode("x\uD83E\uDD99", 0, 2)));
        assertEquals("\u00F0\u0141\u00A6\u013B", ByteLevel.toByteLevel(Utf8.encode("x\uD83E\uDD99", 1, 3))); // U+1F999 = F0 9F A6 99
    }

    @Test
    void charactersOutsideTheAlphabet() {
        assertNull(ByteLevel.fromByteLevelOrNull("ab c"));
        assertNull(ByteLevel.fromByteLevelOrNull("<|endoftext|>\u20AC"));
        var e = assertThrows(LongbowException.class, () -> ByteLevel.fromByteLevel("\u0120the\u0144"));
        assertTrue(e.getMessage().contains("U+0144 at index 4"), e.getMessage());
        assertArrayEquals(" the".getBytes(StandardCharsets.US_ASCII), ByteLevel.fromByteLevel("\u0120the"));
    }
}
