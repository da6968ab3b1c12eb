package dev.longbow;

import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.util.Json;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Greedy decoding must equal llama2.c's run.c token for token. The goldens were made by running run.c
 * (llama2.c commit 350e04f, gcc -O3) on the shared models; see src/test/resources/goldens/README.md.
 */
class RunCGoldenTest {
    @TestFactory
    List<DynamicTest> greedyMatchesRunC() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        Map<String, Model> models = new HashMap<>();
        for (String line : Files.readAllLines(Path.of("src/test/resources/goldens/runc-greedy.jsonl"))) {
            if (line.isBlank()) continue;
            Map<String, Object> c = Json.parseObject(line, "golden");
            String modelName = (String) c.get("model"), prompt = (String) c.get("prompt"), expected = (String) c.get("output");
            int steps = ((Long) c.get("steps")).intValue();
            tests.add(DynamicTest.dynamicTest(modelName + " -n " + steps + " " + Json.write(prompt), () -> {
                Model m = models.computeIfAbsent(modelName, n -> Longbow.load(TestData.shared("models/" + n),
                        LoadOptions.DEFAULT.withTokenizer(TestData.shared("models/" + c.get("tokenizer"))).withReferenceKernels(true)));
                int promptTokens = m.tokenizer().encode(prompt, true).length;
                // run.c's -n counts every printed token, prompt included, and stops at the context length.
                int budget = Math.min(steps, m.contextLength()) - (promptTokens - 1);
                GenerateResult r = m.generate(GenerateRequest.of(prompt, budget).withEchoPrompt(true));
                List<Long> expectedIds = new ArrayList<>();
                for (Object o : (List<?>) c.get("token_ids")) expectedIds.add((Long) o);
                List<Long> actualIds = new ArrayList<>();
                for (int t : r.tokens()) actualIds.add((long) t);
                assertEquals(expectedIds, actualIds, "token ids");
                // run.c's safe_printf drops each byte of a character that fell back to byte tokens; Longbow prints the
                // character. So the text must match wherever the prompt needed no byte fallback beyond ASCII.
                boolean lossyInRunC = false;
                for (int t : m.tokenizer().encode(prompt, true)) {
                    String piece = m.tokenizer().piece(t);
                    lossyInRunC |= piece.matches("<0x[89A-F][0-9A-F]>");
                }
                // run.c prints the unknown piece as its spelling "<unk>"; Longbow decodes it as sentencepiece does, to its
                // surface (" \u2047 "). Both drop the dummy-prefix space of the first piece after BOS.
                String unknown = m.tokenizer().decode(new int[]{0});
                if (!lossyInRunC) assertEquals(expected.replace("<unk>", unknown), r.text());
            }));
        }
        return tests;
    }
}
