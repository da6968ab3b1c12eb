package dev.longbow.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.model;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code longbow serve}: starts on a free port, says where, answers, and stops when its thread is interrupted. */
class ServeCliTest {
    @TempDir
    Path dir;

    @Test
    void servesUntilInterrupted() throws Exception {
        ByteArrayOutputStream errBytes = new ByteArrayOutputStream(), outBytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8), out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
        int[] code = {-1};
        Thread serving = new Thread(() -> code[0] = Main.run(new String[]{"serve", "--model", model().toString(), "--port", "0", "--threads", "1",
                "--api-key", "sekrit"}, out, err));
        serving.start();
        Pattern address = Pattern.compile("longbow: serving stories260K\\.bin on http://127\\.0\\.0\\.1:(\\d+)\n");
        Matcher m = address.matcher("");
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!(m = address.matcher(errBytes.toString(StandardCharsets.UTF_8))).find()) {
            assertTrue(serving.isAlive() && System.nanoTime() < deadline, "no address line: " + errBytes);
            Thread.sleep(20);
        }
        String base = "http://127.0.0.1:" + m.group(1);
        HttpClient client = HttpClient.newHttpClient();
        assertEquals(200, client.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(401, client.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        HttpResponse<String> models = client.send(HttpRequest.newBuilder(URI.create(base + "/v1/models")).header("Authorization", "Bearer sekrit").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, models.statusCode());
        assertTrue(models.body().contains("\"id\":\"stories260K.bin\""), models.body());
        assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("longbow: chat template: the built-in plain transcript"), errBytes.toString());

        serving.interrupt();
        serving.join(20_000);
        assertFalse(serving.isAlive(), "serve returns once interrupted");
        assertEquals(0, code[0], errBytes.toString());
        assertEquals("", outBytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void badOptionsAreOneLineErrors() {
        assertOneLineError(run("serve", "--model", model().toString(), "--port", "70000"), "port must be between 0 and 65535");
        assertOneLineError(run("serve", "--model", model().toString(), "--parallel", "0"), "parallel must be >= 1");
        assertOneLineError(run("serve", "--model", model().toString(), "--port", "0", "--chat-template", dir.resolve("none.jinja").toString()),
                "no such chat template file");
        assertOneLineError(run("serve", "--model", model().toString(), "--port", "0", "--host", "256.1.1.1"), "cannot");
        assertOneLineError(run("serve", "--model", model().toString(), "--api-key", ""), "--api-key is empty");
        assertOneLineError(run("serve", "--bogus"), "unknown option");
    }
}
