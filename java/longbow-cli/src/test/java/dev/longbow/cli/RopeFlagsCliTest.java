package dev.longbow.cli;

import dev.longbow.util.Json;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.model;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RoPE scaling and attention options on a model-running command: each method runs past the trained context. */
class RopeFlagsCliTest {
    @Test
    void everyMethodGeneratesPastTheTrainedContext() {
        String prompt = "Once upon a time, there was a little girl named Lily. ".repeat(60); // ~700 tokens, past 512
        for (String[] method : new String[][]{{"--rope-scaling", "linear"}, {"--rope-scaling", "ntk"}, {"--rope-scaling", "dynamic"},
                {"--rope-scaling", "yarn"}, {"--rope-scaling", "llama3"}, {"--rope-scaling", "elastic"},
                {"--rope-scaling", "elastic", "--attn-temperature", "none"}, {"--rope-scaling", "yarn", "--rope-factor", "3", "--attn-temperature", "1.1"}}) {
            String[] args = concat(new String[]{"generate", "--model", model().toString(), "--ctx", "1024", "--prompt", prompt,
                    "--max-tokens", "8", "--temperature", "0", "--threads", "2", "--json", "--prefill-chunk", "64"}, method);
            CliTest.Run r = run(args);
            assertEquals(0, r.code(), String.join(" ", method) + ": " + r.err());
            Map<?, ?> o = (Map<?, ?>) Json.parse(r.out());
            assertTrue(((Number) o.get("prompt_tokens")).intValue() > 512, r.out());
            assertEquals(8, ((Number) o.get("generated_tokens")).intValue(), String.join(" ", method) + ": " + r.out());
        }
    }

    @Test
    void badOptionsAreOneLineErrors() {
        String m = model().toString();
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--rope-scaling", "frob"), "unknown --rope-scaling 'frob'");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--rope-factor", "2"), "need --rope-scaling");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--rope-scaling", "linear"), "needs --rope-factor, or a --ctx beyond the trained context of 512");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--attn-temperature", "-1"), "--attn-temperature");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--attn-temperature", "hot"), "--attn-temperature");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--prefill-chunk", "0"), "--prefill-chunk");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--attn-window", "-3"), "--attn-window");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--rope-scaling", "longrope"), "--rope-short-factor");
        assertOneLineError(run("generate", "--model", m, "--prompt", "a", "--rope-scaling", "yarn", "--rope-factor", "4", "--rope-beta-fast", "0"), "beta");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
