package dev.longbow.tokenizer;

import dev.longbow.TestData;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TokenDecoderTest {
    @Test
    void multiByteCharactersSpreadOverByteTokensAppearOnceComplete() {
        Tokenizer tok = Tokenizers.load(TestData.root().resolve("models/tok512.bin"));
        String text = "I love 🍕 and 日本 naïve";
        int[] ids = tok.encode(text, true);
        TokenDecoder d = tok.decoder();
        List<String> pieces = new ArrayList<>();
        StringBuilder all = new StringBuilder();
        for (int id : ids) {
            String s = d.next(id);
            pieces.add(s);
            all.append(s);
            // No piece ever holds half a character.
            for (int i = 0; i < s.length(); i++) {
                if (Character.isHighSurrogate(s.charAt(i))) assertEquals(true, i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)));
            }
            assertEquals(-1, s.indexOf('\uFFFD'), "piece " + pieces.size() + " is a broken character");
        }
        all.append(d.flush());
        // SentencePiece strips the dummy-prefix space after BOS.
        assertEquals(text, all.toString());
    }

    @Test
    void unfinishedSequenceAtTheEndBecomesReplacement() {
        assertEquals(2, TokenDecoder.completePrefix(new byte[]{'a', 'b', (byte) 0xE6, (byte) 0x97}));
        assertEquals(4, TokenDecoder.completePrefix(new byte[]{'a', (byte) 0xE6, (byte) 0x97, (byte) 0xA5}));
        assertEquals(1, TokenDecoder.completePrefix(new byte[]{'a', (byte) 0xF0}));
    }
}
