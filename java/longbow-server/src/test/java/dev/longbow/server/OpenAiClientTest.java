package dev.longbow.server;

import dev.longbow.api.LoadOptions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official {@code openai} npm client against a running server: models, completions and chat (whole and
 * streamed), stop and logprobs, seeded sampling, embeddings (the client's default base64), and errors it must map to
 * its own error classes. The client is installed from package-lock.json with {@code npm ci} into target/; the test
 * is skipped, saying why, where node or npm is missing or the registry cannot be reached.
 */
class OpenAiClientTest {
    static final List<String> CHECKS = List.of("models", "completion", "completion stream", "chat", "chat stream", "chat stop and logprobs",
            "seeded sampling repeats", "embeddings", "errors");

    record Result(int code, String output) {}

    /** Runs a command in {@code dir}, its output going to a file so that a hung command cannot block the reader. */
    static Result run(Path dir, long timeoutSeconds, String... command) throws IOException, InterruptedException {
        Path log = Files.createTempFile(dir, "run", ".log");
        try {
            Process p;
            try {
                p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            } catch (IOException e) {
                return new Result(-1, e.getMessage());
            }
            p.getOutputStream().close();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                return new Result(-2, "timed out after " + timeoutSeconds + " s: " + Files.readString(log));
            }
            return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** The client installed in target/node-e2e; skips the test when it cannot be. */
    static Path install() throws IOException, InterruptedException {
        Path src = TestServer.root().resolve("java/longbow-server/src/test/node");
        Path dir = TestServer.root().resolve("java/longbow-server/target/node-e2e");
        Files.createDirectories(dir);
        for (String f : List.of("package.json", "package-lock.json", "e2e.mjs")) {
            Files.copy(src.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        Result node = run(dir, 30, "node", "--version");
        Assumptions.assumeTrue(node.code() == 0, "skipped: node is not available (" + node.output().strip() + ")");
        Result npm = run(dir, 30, "npm", "--version");
        Assumptions.assumeTrue(npm.code() == 0, "skipped: npm is not available (" + npm.output().strip() + ")");
        Path installed = dir.resolve("node_modules/openai/package.json");
        Path stamp = dir.resolve("node_modules/.lock-installed");
        String lock = Files.readString(dir.resolve("package-lock.json"));
        if (!Files.isRegularFile(installed) || !Files.isRegularFile(stamp) || !Files.readString(stamp).equals(lock)) {
            Result ci = run(dir, 300, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error",
                    "--fetch-retries=1", "--fetch-timeout=60000");
            Assumptions.assumeTrue(ci.code() == 0, "skipped: npm ci could not install the openai client (registry unreachable?): "
                    + ci.output().strip().lines().reduce((a, b) -> b).orElse(""));
            Files.writeString(stamp, lock);
        }
        return dir;
    }

    @Test
    void officialClientTalksToTheServer() throws Exception {
        Path dir = install();
        String key = "test-key-" + System.nanoTime();
        try (TestServer s = TestServer.start(LoadOptions.DEFAULT.withThreads(2), o -> o.withApiKey(key))) {
            Result r = run(dir, 300, "node", "e2e.mjs", s.base + "/v1", key, "stories260K.bin");
            assertEquals(0, r.code(), r.output());
            for (String check : CHECKS) assertTrue(r.output().lines().anyMatch(l -> l.equals("ok " + check)), "check '" + check + "' ran: " + r.output());
        }
    }
}
