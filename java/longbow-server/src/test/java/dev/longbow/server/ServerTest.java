package dev.longbow.server;

import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.engine.SamplerParams;
import dev.longbow.util.Json;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every endpoint over HTTP on the bundled stories260K model: shapes, values against the engine run directly, errors. */
class ServerTest {
    static TestServer s;

    @BeforeAll
    static void start() {
        s = TestServer.start();
    }

    @AfterAll
    static void stop() {
        s.close();
    }

    /** What the engine generates greedily for a completion prompt (after BOS, special tokens parsed, as the server does). */
    static GenerateResult greedy(String prompt, int maxTokens) {
        return s.model.generate(new GenerateRequest(prompt, maxTokens, SamplerParams.GREEDY, true, true, false, null));
    }

    @Test
    void logitBiasForcesOrBansTokens() throws Exception {
        int token = 300;
        var decoder = s.model.tokenizer().decoder();
        for (int t : s.model.tokenizer().encode("Once upon a time", true, true)) decoder.next(t); // the text goes on from the prompt
        StringBuilder forced = new StringBuilder();
        for (int i = 0; i < 6; i++) forced.append(decoder.next(token));
        forced.append(decoder.flush());
        TestServer.Reply r = s.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 6, \"temperature\": 0, \"logit_bias\": {\"" + token + "\": 100}}");
        assertEquals(200, r.status(), r.body());
        assertEquals(forced.toString(), choice(r.json()).get("text"));
        // Banning the token greedy decoding picks first changes the text.
        int first = greedy("Once upon a time", 1).tokens()[greedy("Once upon a time", 1).promptTokens()];
        TestServer.Reply banned = s.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 6, \"temperature\": 0, \"logit_bias\": {\"" + first + "\": -100}}");
        org.junit.jupiter.api.Assertions.assertNotEquals(greedy("Once upon a time", 6).text(), choice(banned.json()).get("text"));
    }

    @Test
    void presenceAndFrequencyPenaltiesChangeWhatIsGenerated() throws Exception {
        String plain = greedy("Once upon a time", 80).text();
        String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 80, \"temperature\": 0, \"%s\": %s}";
        TestServer.Reply none = s.post("/v1/completions", String.format(body, "frequency_penalty", "0"));
        assertEquals(plain, choice(none.json()).get("text"), "a penalty of 0 changes nothing");
        for (String penalty : new String[]{"frequency_penalty", "presence_penalty"}) {
            TestServer.Reply r = s.post("/v1/completions", String.format(body, penalty, "2"));
            assertEquals(200, r.status(), r.body());
            String text = (String) choice(r.json()).get("text");
            org.junit.jupiter.api.Assertions.assertNotEquals(plain, text, penalty + " 2 left the greedy story as it was");
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> choice(Map<String, Object> response) {
        List<Object> choices = (List<Object>) response.get("choices");
        assertEquals(1, choices.size());
        return (Map<String, Object>) choices.getFirst();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    static long num(Object o) {
        return ((Number) o).longValue();
    }

    @Test
    void healthAndModels() throws Exception {
        TestServer.Reply h = s.get("/health");
        assertEquals(200, h.status());
        assertEquals("ok", h.json().get("status"));

        Map<String, Object> models = s.get("/v1/models").json();
        assertEquals("list", models.get("object"));
        Map<String, Object> m = map(list(models.get("data")).getFirst());
        assertEquals("stories260K.bin", m.get("id"));
        assertEquals("model", m.get("object"));
        assertEquals(m, s.get("/v1/models/stories260K.bin").json());
        assertEquals("model_not_found", s.get("/v1/models/other.gguf").error(404).get("code"));
    }

    @Test
    void completionEqualsTheEngineGreedily() throws Exception {
        GenerateResult expected = greedy("Once upon a time", 24);
        Map<String, Object> r = s.post("/v1/completions", "{\"model\": \"stories260K.bin\", \"prompt\": \"Once upon a time\", \"max_tokens\": 24, \"temperature\": 0}").json();
        assertEquals("text_completion", r.get("object"));
        assertTrue(((String) r.get("id")).startsWith("cmpl-"));
        assertEquals("stories260K.bin", r.get("model"));
        Map<String, Object> c = choice(r);
        assertEquals(expected.text(), c.get("text"));
        assertEquals("length", c.get("finish_reason"));
        assertNull(c.get("logprobs"));
        Map<String, Object> usage = map(r.get("usage"));
        assertEquals(expected.promptTokens(), num(usage.get("prompt_tokens")));
        assertEquals(24L, num(usage.get("completion_tokens")));
        assertEquals(expected.promptTokens() + 24L, num(usage.get("total_tokens")));

        // A list holding one prompt is the same request.
        Map<String, Object> listed = s.post("/v1/completions", "{\"prompt\": [\"Once upon a time\"], \"max_tokens\": 24, \"temperature\": 0}").json();
        assertEquals(expected.text(), choice(listed).get("text"));
    }

    @Test
    void completionStreamsTheSameTextAsServerSentEvents() throws Exception {
        String whole = (String) choice(s.post("/v1/completions", "{\"prompt\": \"The cat\", \"max_tokens\": 30, \"temperature\": 0}").json()).get("text");
        TestServer.Reply r = s.post("/v1/completions", "{\"prompt\": \"The cat\", \"max_tokens\": 30, \"temperature\": 0, \"stream\": true, "
                + "\"stream_options\": {\"include_usage\": true}}");
        assertEquals(200, r.status());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<Map<String, Object>> events = TestServer.events(r.body());
        StringBuilder text = new StringBuilder();
        Set<Object> ids = new HashSet<>();
        String finish = null;
        Map<String, Object> usage = null;
        for (Map<String, Object> e : events) {
            ids.add(e.get("id"));
            assertEquals("text_completion", e.get("object"));
            if (list(e.get("choices")).isEmpty()) {
                usage = map(e.get("usage"));
                continue;
            }
            Map<String, Object> c = choice(e);
            text.append((String) c.get("text"));
            if (c.get("finish_reason") != null) {
                assertNull(finish, "one finishing chunk");
                finish = (String) c.get("finish_reason");
            }
        }
        assertEquals(1, ids.size(), "every chunk carries the request's id");
        assertEquals(whole, text.toString());
        assertEquals("length", finish);
        assertEquals(30L, num(usage.get("completion_tokens")));
        assertTrue(events.size() > 5, "streamed piece by piece: " + events.size() + " events");
    }

    @Test
    void chatUsesThePlainTranscriptForAModelWithoutTemplate() throws Exception {
        String messages = "[{\"role\": \"system\", \"content\": \"Be nice.\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Tell me \"}, "
                + "{\"type\": \"text\", \"text\": \"a story.\"}]}]";
        String prompt = "system: Be nice.\nuser: Tell me a story.\nassistant:";
        GenerateResult expected = s.model.generate(new GenerateRequest(prompt, 20, SamplerParams.GREEDY, true, false, false, null));
        Map<String, Object> r = s.post("/v1/chat/completions", "{\"messages\": " + messages + ", \"max_tokens\": 20, \"temperature\": 0}").json();
        assertEquals("chat.completion", r.get("object"));
        assertTrue(((String) r.get("id")).startsWith("chatcmpl-"));
        Map<String, Object> message = map(choice(r).get("message"));
        assertEquals("assistant", message.get("role"));
        assertEquals(expected.text(), message.get("content"));
        assertEquals(expected.promptTokens(), num(map(r.get("usage")).get("prompt_tokens")));

        TestServer.Reply streamed = s.post("/v1/chat/completions", "{\"messages\": " + messages + ", \"max_tokens\": 20, \"temperature\": 0, \"stream\": true}");
        List<Map<String, Object>> events = TestServer.events(streamed.body());
        assertEquals(Map.of("role", "assistant", "content", ""), choice(events.getFirst()).get("delta"), "the first chunk opens the assistant's turn");
        StringBuilder text = new StringBuilder();
        for (Map<String, Object> e : events) {
            assertEquals("chat.completion.chunk", e.get("object"));
            Map<String, Object> delta = map(choice(e).get("delta"));
            if (delta.get("content") != null) text.append((String) delta.get("content"));
        }
        assertEquals(expected.text(), text.toString());
        assertEquals("length", choice(events.getLast()).get("finish_reason"));
        assertEquals(Map.of(), choice(events.getLast()).get("delta"));
    }

    @Test
    void stopSequencesCutTheTextEvenWhenStreamed() throws Exception {
        String full = greedy("Once upon a time", 80).text();
        int cut = full.indexOf(" she");
        int cut2 = full.indexOf(".");
        assertTrue(cut > 0 && cut2 > 0, "the greedy text has both stops: " + full);
        String expected = full.substring(0, Math.min(cut, cut2));
        for (String stop : new String[]{"\" she\"", "[\"zzz\", \" she\", \".\"]"}) {
            String expectedHere = stop.startsWith("[") ? expected : full.substring(0, cut);
            Map<String, Object> c = choice(s.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 80, \"temperature\": 0, \"stop\": " + stop + "}").json());
            assertEquals(expectedHere, c.get("text"));
            assertEquals("stop", c.get("finish_reason"));
            StringBuilder text = new StringBuilder();
            List<Map<String, Object>> events = TestServer.events(s.post("/v1/completions",
                    "{\"prompt\": \"Once upon a time\", \"max_tokens\": 80, \"temperature\": 0, \"stream\": true, \"stop\": " + stop + "}").body());
            for (Map<String, Object> e : events) text.append((String) choice(e).get("text"));
            assertEquals(expectedHere, text.toString(), "no part of a stop sequence is streamed");
            assertEquals("stop", choice(events.getLast()).get("finish_reason"));
        }
    }

    @Test
    void seedsRepeatAndTemperatureZeroIsGreedy() throws Exception {
        String body = "{\"prompt\": \"The dog\", \"max_tokens\": 30, \"temperature\": 1.0, \"top_p\": 0.95, \"seed\": %d}";
        String a = (String) choice(s.post("/v1/completions", body.formatted(7)).json()).get("text");
        assertEquals(a, choice(s.post("/v1/completions", body.formatted(7)).json()).get("text"));
        Set<String> texts = new HashSet<>();
        for (int seed = 1; seed <= 4; seed++) texts.add((String) choice(s.post("/v1/completions", body.formatted(seed)).json()).get("text"));
        assertTrue(texts.size() > 1, "different seeds sample differently: " + texts);
        assertEquals(greedy("The dog", 30).text(), choice(s.post("/v1/completions", "{\"prompt\": \"The dog\", \"max_tokens\": 30, \"temperature\": 0, \"seed\": 3}").json()).get("text"));
    }

    @Test
    void completionLogprobsDescribeTheTextAndDoNotDependOnTemperature() throws Exception {
        Map<String, Object> c = choice(s.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 12, \"temperature\": 0, \"logprobs\": 3}").json());
        Map<String, Object> lp = map(c.get("logprobs"));
        List<Object> tokens = list(lp.get("tokens")), values = list(lp.get("token_logprobs")), top = list(lp.get("top_logprobs")), offsets = list(lp.get("text_offset"));
        assertEquals(12, tokens.size());
        assertEquals(12, values.size());
        assertEquals(12, top.size());
        assertEquals(c.get("text"), String.join("", tokens.stream().map(String.class::cast).toList()), "the tokens spell the text");
        int offset = 0;
        for (int i = 0; i < 12; i++) {
            assertEquals(offset, num(offsets.get(i)));
            offset += ((String) tokens.get(i)).length();
            double chosen = ((Number) values.get(i)).doubleValue();
            Map<String, Object> alternatives = map(top.get(i));
            assertTrue(alternatives.size() <= 3 && !alternatives.isEmpty());
            double best = alternatives.values().stream().mapToDouble(v -> ((Number) v).doubleValue()).max().orElseThrow();
            assertEquals(best, chosen, 1e-12, "greedy takes the most likely token");
            double mass = alternatives.values().stream().mapToDouble(v -> Math.exp(((Number) v).doubleValue())).sum();
            assertTrue(chosen <= 0 && mass <= 1 + 1e-9, "probabilities: " + alternatives);
        }
        // The first token's distribution comes from the prompt alone: sampling settings must not change it.
        Map<String, Object> hot = choice(s.post("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 1, \"temperature\": 1.7, \"seed\": 5, \"logprobs\": 3}").json());
        assertEquals(top.getFirst(), list(map(hot.get("logprobs")).get("top_logprobs")).getFirst());
    }

    @Test
    void chatLogprobsHaveOpenAisShape() throws Exception {
        Map<String, Object> c = choice(s.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 6, "
                + "\"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 2}").json());
        List<Object> content = list(map(c.get("logprobs")).get("content"));
        assertEquals(6, content.size());
        StringBuilder text = new StringBuilder();
        for (Object o : content) {
            Map<String, Object> t = map(o);
            String token = (String) t.get("token");
            text.append(token);
            List<Object> bytes = list(t.get("bytes"));
            byte[] utf8 = token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            assertEquals(utf8.length, bytes.size());
            for (int i = 0; i < utf8.length; i++) assertEquals(utf8[i] & 0xFF, num(bytes.get(i)));
            List<Object> top = list(t.get("top_logprobs"));
            assertEquals(2, top.size());
            assertEquals(token, map(top.getFirst()).get("token"));
            assertEquals(((Number) t.get("logprob")).doubleValue(), ((Number) map(top.getFirst()).get("logprob")).doubleValue(), 0);
        }
        assertEquals(map(c.get("message")).get("content"), text.toString());
        // logprobs false (or absent) reports none.
        assertNull(choice(s.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 2, \"logprobs\": false}").json()).get("logprobs"));
    }

    @Test
    void embeddingsAreUnitMeanPooledStatesAsFloatsOrBase64() throws Exception {
        Map<String, Object> r = s.post("/v1/embeddings", "{\"input\": [\"a happy dog\", \"a sad cat\"], \"model\": \"stories260K.bin\"}").json();
        assertEquals("list", r.get("object"));
        List<Object> data = list(r.get("data"));
        assertEquals(2, data.size());
        int tokens = 0;
        for (int i = 0; i < 2; i++) {
            Map<String, Object> d = map(data.get(i));
            assertEquals("embedding", d.get("object"));
            assertEquals((long) i, num(d.get("index")));
            List<Object> v = list(d.get("embedding"));
            assertEquals(s.model.config().dim(), v.size());
            float[] expected = s.model.embed(i == 0 ? "a happy dog" : "a sad cat", true).vector();
            double norm = 0;
            for (int k = 0; k < v.size(); k++) {
                double x = ((Number) v.get(k)).doubleValue();
                assertEquals(expected[k], x, 1e-6);
                norm += x * x;
            }
            assertEquals(1, Math.sqrt(norm), 1e-5);
            tokens += s.model.embed(i == 0 ? "a happy dog" : "a sad cat", true).tokens();
        }
        assertEquals((long) tokens, num(map(r.get("usage")).get("prompt_tokens")));

        Map<String, Object> b = map(list(s.post("/v1/embeddings", "{\"input\": \"a happy dog\", \"encoding_format\": \"base64\"}").json().get("data")).getFirst());
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(Base64.getDecoder().decode((String) b.get("embedding"))).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        List<Object> floats = list(map(data.getFirst()).get("embedding"));
        assertEquals(floats.size() * 4, buf.remaining());
        for (Object f : floats) assertEquals(((Number) f).floatValue(), buf.getFloat(), 1e-7f);
    }

    @Test
    void badRequestsGetOpenAiStyleErrors() throws Exception {
        record Case(String path, String body, int status, String param) {}
        List<Case> cases = List.of(
                new Case("/v1/completions", "{\"prompt\": ", 400, null),
                new Case("/v1/completions", "[1, 2]", 400, null),
                new Case("/v1/completions", "", 400, null),
                new Case("/v1/completions", "{}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": 3}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": [1, 2, 3]}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": [\"a\", \"b\"]}", 400, "prompt"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": \"ten\"}", 400, "max_tokens"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"max_tokens\": -1}", 400, "max_tokens"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"temperature\": 2.5}", 400, "temperature"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"top_p\": 0}", 400, "top_p"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"n\": 2}", 400, "n"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", 400, "stop"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"stop\": 5}", 400, "stop"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"logprobs\": 21}", 400, "logprobs"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"stream\": \"yes\"}", 400, "stream"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"stream_options\": {\"include_usage\": true}}", 400, "stream_options"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"presence_penalty\": 2.5}", 400, "presence_penalty"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"frequency_penalty\": \"high\"}", 400, "frequency_penalty"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"logit_bias\": {\"99999\": 10}}", 400, "logit_bias"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"logit_bias\": {\"5\": 200}}", 400, "logit_bias"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"logit_bias\": {\"five\": 1}}", 400, "logit_bias"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"echo\": true}", 400, "echo"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"tempreature\": 0}", 400, "tempreature"),
                new Case("/v1/completions", "{\"prompt\": \"x\", \"model\": \"gpt-4\"}", 404, "model"),
                new Case("/v1/chat/completions", "{\"messages\": []}", 400, "messages"),
                new Case("/v1/chat/completions", "{\"messages\": \"hi\"}", 400, "messages"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"content\": \"hi\"}]}", 400, "messages[0].role"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", 400, "messages[0].content"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"top_logprobs\": 2}", 400, "top_logprobs"),
                new Case("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"tools\": [{\"type\": \"function\"}]}", 400, "tools"),
                new Case("/v1/embeddings", "{}", 400, "input"),
                new Case("/v1/embeddings", "{\"input\": [\"\"]}", 400, "input"),
                new Case("/v1/embeddings", "{\"input\": \"x\", \"encoding_format\": \"hex\"}", 400, "encoding_format"),
                new Case("/v1/embeddings", "{\"input\": \"x\", \"dimensions\": 3}", 400, "dimensions"));
        for (Case c : cases) {
            Map<String, Object> e = s.post(c.path(), c.body()).error(c.status());
            assertEquals(c.param(), e.get("param"), c.body() + " -> " + e);
            if (c.status() == 404) assertEquals("model_not_found", e.get("code"));
            assertEquals("invalid_request_error", e.get("type"));
        }
        Map<String, Object> tooLong = s.post("/v1/completions", "{\"prompt\": \"" + "hello ".repeat(600) + "\"}").error(400);
        assertTrue(((String) tooLong.get("message")).contains("exceeds the context length of 512"), tooLong.toString());
        // A too-long prompt is refused before a stream starts, so it too is a plain 400.
        s.post("/v1/completions", "{\"prompt\": \"" + "hello ".repeat(600) + "\", \"stream\": true}").error(400);

        assertEquals("unknown_url", s.get("/v1/nothing").error(404).get("code"));
        assertEquals(404, s.post("/v2/completions", "{}").status());
        TestServer.Reply wrongMethod = s.get("/v1/chat/completions");
        wrongMethod.error(405);
        assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(""));
        s.post("/health", "{}").error(405);
    }

    @Test
    void metricsAreValidPrometheusText() throws Exception {
        s.post("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 3}");
        s.post("/v1/completions", "{\"prompt\": 1}");
        s.awaitIdle();
        TestServer.Reply r = s.get("/metrics");
        assertEquals(200, r.status());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        Set<String> typed = new HashSet<>();
        List<String> samples = new ArrayList<>();
        for (String line : r.body().lines().toList()) {
            if (line.startsWith("# TYPE ")) typed.add(line.split(" ")[2]);
            else if (!line.startsWith("# HELP ")) samples.add(line);
        }
        assertTrue(typed.containsAll(List.of("longbow_requests_total", "longbow_request_duration_seconds", "longbow_prompt_tokens_total",
                "longbow_generated_tokens_total", "longbow_requests_in_flight", "longbow_requests_cancelled_total")), typed.toString());
        for (String sample : samples) {
            assertTrue(sample.matches("[a-z_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*})? [0-9][0-9.eE+-]*"), sample);
            String name = sample.replaceAll("[{ ].*", "").replaceAll("_(bucket|sum|count)$", "");
            assertTrue(typed.contains(name) || typed.contains(sample.replaceAll("[{ ].*", "")), "sample of a declared metric: " + sample);
            Double.parseDouble(sample.substring(sample.lastIndexOf(' ') + 1));
        }
        assertTrue(s.metric("longbow_requests_total{endpoint=\"/v1/completions\",status=\"200\"}") >= 1);
        assertTrue(s.metric("longbow_requests_total{endpoint=\"/v1/completions\",status=\"400\"}") >= 1);
        assertTrue(s.metric("longbow_generated_tokens_total") >= 3);
        assertEquals(0, s.metric("longbow_requests_in_flight"));
        double count = s.metric("longbow_request_duration_seconds_count{endpoint=\"/v1/completions\"}");
        assertEquals(count, s.metric("longbow_request_duration_seconds_bucket{endpoint=\"/v1/completions\",le=\"+Inf\"}"));
        assertFalse(r.body().contains("/v1/nothing"), "unknown paths are not labels");
    }

    @Test
    void requestsGetTheirOwnIds() throws Exception {
        Set<Object> ids = new HashSet<>();
        for (int i = 0; i < 3; i++) ids.add(s.post("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 1}").json().get("id"));
        assertEquals(3, ids.size());
        assertTrue(Json.write(ids).contains("cmpl-"));
    }
}
