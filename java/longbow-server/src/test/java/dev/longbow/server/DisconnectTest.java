package dev.longbow.server;

import dev.longbow.api.GenerateRequest;
import dev.longbow.api.LoadOptions;
import dev.longbow.engine.SamplerParams;
import dev.longbow.engine.StopReason;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that goes away mid-stream cancels its generation. The prompt sends stories260K into a greedy loop that
 * never reaches end of text (checked first), so a generation that was not cancelled would run all its tokens.
 */
class DisconnectTest {
    static final int ASKED = 1000;
    static final String PROMPT = "The ball was not nice. ".repeat(8);
    static final String REQUEST = "{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": " + ASKED + ", \"temperature\": 0, \"stream\": true}";

    static TestServer start() {
        TestServer s = TestServer.start(LoadOptions.DEFAULT.withThreads(2).withContextLength(4096), o -> o);
        var alone = s.model.generate(new GenerateRequest(PROMPT, ASKED, SamplerParams.GREEDY, true, true, false, null));
        assertEquals(StopReason.MAX_TOKENS, alone.stopReason(), "left alone, the request runs all its tokens");
        return s;
    }

    /** Sends the streaming request on a raw socket, reads until the first event has arrived, and hangs up. */
    static void openStreamAndHangUp(int port) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            byte[] bytes = REQUEST.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder seen = new StringBuilder();
            byte[] buf = new byte[4096];
            while (!seen.toString().contains("data: {")) {
                int r = in.read(buf);
                assertTrue(r > 0, "the stream ended before its first event: " + seen);
                seen.append(new String(buf, 0, r, StandardCharsets.UTF_8));
            }
            assertTrue(seen.toString().startsWith("HTTP/1.1 200"), seen.toString());
        }
    }

    @Test
    void disconnectingCancelsTheGeneration() throws Exception {
        try (TestServer s = start()) {
            openStreamAndHangUp(s.server.port());
            assertTimeoutPreemptively(Duration.ofSeconds(60), s::awaitIdle);
            assertEquals(1, s.metric("longbow_requests_cancelled_total"));
            double generated = s.metric("longbow_generated_tokens_total");
            assertTrue(generated >= 1 && generated < ASKED / 2.0, "stopped early: " + generated + " of " + ASKED + " tokens");
            assertEquals(1, s.metric("longbow_requests_total{endpoint=\"/v1/completions\",status=\"200\"}"));
            // The server is still fine.
            assertEquals(200, s.post("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 2}").status());
        }
    }

    static double metric(String text, String name) {
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1))).findFirst().orElseThrow();
    }

    @Test
    void closingTheServerStopsRunningGenerations() throws Exception {
        TestServer s = start();
        CompletableFuture<String> running = CompletableFuture.supplyAsync(() -> {
            try {
                return s.post("/v1/completions", REQUEST).body();
            } catch (Exception e) {
                return "failed: " + e;
            }
        });
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            while (s.metric("longbow_requests_in_flight") == 0) Thread.sleep(10);
        });
        Thread.sleep(100);
        s.server.close();
        String body = running.join();
        assertFalse(body.contains("[DONE]"), "the stream was cut short");
        // The request's thread outlives the server; once it is done, its tokens are counted.
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            while (metric(s.server.metricsText(), "longbow_requests_in_flight") != 0) Thread.sleep(10);
        });
        double generated = metric(s.server.metricsText(), "longbow_generated_tokens_total");
        assertTrue(generated < ASKED / 2.0, "stopped early: " + generated + " of " + ASKED + " tokens");
        s.model.close();
    }
}
