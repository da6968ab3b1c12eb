package dev.longbow.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.text.Normalizer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class NormalizationTest {
    @Test
    void nfc() {
        String plain = "Hello, w\u00F6rld \u00FF\u02FF";
        assertSame(plain, Normalization.nfc(plain));
        assertEquals("\u00E9", Normalization.nfc("e\u0301"));
        assertEquals("\uAC01", Normalization.nfc("\u1100\u1161\u11A8"));
        assertEquals("\u00C5", Normalization.nfc("\u212B")); // Angstrom sign: a singleton decomposition
        Random r = new Random(3);
        for (int i = 0; i < 3000; i++) {
            String s = RandomText.next(r, 20, true);
            assertEquals(Normalizer.normalize(s, Normalizer.Form.NFC), Normalization.nfc(s));
        }
    }

    /** llama.cpp applies no NFC; its Qwen2 test texts are NFC already, so they cannot show the difference. */
    @Test
    void llamaCppTestTextsAreNfc() throws IOException {
        for (String t : PreTokenizerTest.vocabTestTexts()) assertEquals(t, Normalization.nfc(t));
    }
}
