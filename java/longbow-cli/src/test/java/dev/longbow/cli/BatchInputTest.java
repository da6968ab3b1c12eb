package dev.longbow.cli;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading and validating batch input: fields, defaults, and every kind of bad line reported with its line number. */
class BatchInputTest {
    static final BatchInput.Defaults DEFAULTS = new BatchInput.Defaults(256, 0.8f, 40, 0.95f, 0.05f, 1f, null);

    static BatchInput.Parsed parse(String text) {
        return BatchInput.parse(text.getBytes(StandardCharsets.UTF_8), DEFAULTS, () -> 99);
    }

    @Test
    void fieldsOverrideDefaultsAndIdsKeepTheirType() {
        BatchInput.Parsed p = parse("""
                {"id": 7, "prompt": "a", "max_tokens": 5, "temperature": 0, "top_p": 0.5, "top_k": 3, "min_p": 0.1, "seed": 42, "repeat_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": -0.25, "stop": ".", "priority": 3}
                {"id": "7", "prompt": "b", "stop": ["x", "yz"]}
                """);
        assertEquals(List.of(), p.problems());
        BatchItem a = p.items().get(0), b = p.items().get(1);
        assertEquals(7L, a.id());
        assertEquals("7", b.id());
        assertEquals(5, a.maxTokens());
        assertEquals(0f, a.sampling().temperature());
        assertEquals(0.5f, a.sampling().topP());
        assertEquals(3, a.sampling().topK());
        assertEquals(0.1f, a.sampling().minP());
        assertEquals(1.1f, a.sampling().repetitionPenalty());
        assertEquals(0.5f, a.sampling().presencePenalty());
        assertEquals(-0.25f, a.sampling().frequencyPenalty());
        assertEquals(0f, b.sampling().presencePenalty());
        assertEquals(42, a.sampling().seed());
        assertEquals(List.of("."), a.stop());
        assertEquals(3, a.priority());
        assertEquals(0, b.priority());
        assertEquals(256, b.maxTokens());
        assertEquals(0.8f, b.sampling().temperature());
        assertEquals(99, b.sampling().seed(), "no seed anywhere: a random one");
        assertEquals(List.of("x", "yz"), b.stop());
        assertEquals(2, b.line());
    }

    @Test
    void commandLineSeedIsTheDefault() {
        var d = new BatchInput.Defaults(10, 0f, 0, 1f, 0f, 1f, 5L);
        var p = BatchInput.parse("{\"id\":1,\"prompt\":\"a\"}\n{\"id\":2,\"prompt\":\"a\",\"seed\":6}".getBytes(StandardCharsets.UTF_8), d, () -> 99);
        assertEquals(5, p.items().get(0).sampling().seed());
        assertEquals(6, p.items().get(1).sampling().seed());
    }

    @Test
    void messagesBecomeARoleTranscript() {
        BatchInput.Parsed p = parse("""
                {"id": 1, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}]}
                """);
        assertEquals(List.of(), p.problems());
        assertEquals("system: Be brief.\nuser: Hi!\nassistant:", p.items().get(0).prompt());
    }

    @Test
    void badLinesAreReportedWithTheirNumbersAndTheRestKept() {
        BatchInput.Parsed p = parse(String.join("\n",
                "{\"id\": 1, \"prompt\": \"ok\"}",                         // 1
                "",                                                        // 2 blank: ignored
                "{\"id\": 1, \"prompt\": \"again\"}",                      // 3 duplicate
                "{\"id\": 2, \"prompt\": \"unterminated}",                 // 4 bad JSON
                "[1, 2]",                                                  // 5 not an object
                "{\"prompt\": \"no id\"}",                                 // 6
                "{\"id\": true, \"prompt\": \"x\"}",                       // 7
                "{\"id\": 8}",                                             // 8 no prompt
                "{\"id\": 9, \"prompt\": \"x\", \"messages\": []}",        // 9 both
                "{\"id\": 10, \"prompt\": \"x\", \"max_tokens\": -1}",     // 10
                "{\"id\": 11, \"prompt\": \"x\", \"max_tokens\": 2.5}",    // 11
                "{\"id\": 12, \"prompt\": \"x\", \"top_p\": 0}",           // 12
                "{\"id\": 13, \"prompt\": \"x\", \"stop\": [\"\"]}",       // 13
                "{\"id\": 14, \"prompt\": \"x\", \"max_token\": 3}",       // 14 typo
                "{\"id\": 15, \"messages\": [{\"role\": \"user\"}]}",      // 15
                "{\"id\": 16, \"prompt\": 5}",                             // 16
                "{\"id\": 17, \"prompt\": \"last\"}\r"));                  // 17 CRLF is fine
        assertEquals(List.of(1L, 17L), p.items().stream().map(BatchItem::id).toList());
        assertEquals("last", p.items().get(1).prompt());
        String[] expected = {"3:duplicate id 1 (first on line 1)", "4:invalid JSON", "5:expected a JSON object, got a list", "6:missing \"id\"",
                "7:\"id\" should be a string or a number", "8:missing \"prompt\"", "9:not both", "10:\"max_tokens\" should be >= 0",
                "11:\"max_tokens\" should be an integer", "12:top_p must be in (0, 1]", "13:empty string", "14:unknown field \"max_token\"",
                "15:messages[0] needs a \"content\"", "16:\"prompt\" should be a string"};
        assertEquals(expected.length, p.problems().size(), p.problems().toString());
        for (int i = 0; i < expected.length; i++) {
            var pr = p.problems().get(i);
            String[] e = expected[i].split(":", 2);
            assertEquals(Integer.parseInt(e[0]), pr.line(), pr.toString());
            assertTrue(pr.message().contains(e[1]), pr + " should mention " + e[1]);
        }
    }

    @Test
    void aLineWithAnotherErrorStillClaimsItsId() {
        BatchInput.Parsed p = parse("{\"id\": \"a\", \"prompt\": 1}\n{\"id\": \"a\", \"prompt\": \"fine\"}\n");
        assertEquals(List.of(), p.items());
        assertEquals(2, p.problems().size());
        assertTrue(p.problems().get(1).message().contains("duplicate id \"a\" (first on line 1)"));
    }

    @Test
    void numericIdsCompareAsNumbersStringIdsAsStrings() {
        BatchInput.Parsed p = parse("{\"id\": 3, \"prompt\": \"a\"}\n{\"id\": 3.0, \"prompt\": \"b\"}\n{\"id\": \"3\", \"prompt\": \"c\"}\n");
        assertEquals(2, p.items().size());
        assertEquals(1, p.problems().size());
        assertEquals(2, p.problems().get(0).line());
    }

    @Test
    void byteOrderMarkIsSkippedAndBadUtf8IsThatLinesProblem() {
        var bytes = new java.io.ByteArrayOutputStream();
        bytes.writeBytes(new byte[]{(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
        bytes.writeBytes("{\"id\": 1, \"prompt\": \"x\"}\n".getBytes(StandardCharsets.UTF_8));
        bytes.writeBytes("{\"id\": 2, \"prompt\": \"".getBytes(StandardCharsets.UTF_8));
        bytes.write(0xC3); // the first byte of a two-byte character, alone
        bytes.writeBytes("\"}\n{\"id\": 3, \"prompt\": \"\u00e9\"}\n".getBytes(StandardCharsets.UTF_8));
        BatchInput.Parsed p = BatchInput.parse(bytes.toByteArray(), DEFAULTS, () -> 0);
        assertEquals(List.of(new BatchInput.Problem(2, "not valid UTF-8 text")), p.problems());
        assertEquals(List.of(1L, 3L), p.items().stream().map(BatchItem::id).toList());
        assertEquals("\u00e9", p.items().get(1).prompt());
    }

    @Test
    void stopSequencesAreFoundAcrossPieces() {
        StringBuilder text = new StringBuilder("Once upon");
        assertEquals(-1, BatchGeneration.firstStop(text, List.of("a time", "."), 0));
        int checked = text.length();
        text.append(" a ti");
        assertEquals(-1, BatchGeneration.firstStop(text, List.of("a time", "."), checked));
        checked = text.length();
        text.append("me. The");
        assertEquals(10, BatchGeneration.firstStop(text, List.of(".", "a time"), checked), "the earliest start wins, not the first listed");
        assertEquals(16, BatchGeneration.firstStop(text, List.of("."), checked));
    }
}
