package dev.longbow.server;

import com.sun.net.httpserver.HttpExchange;
import dev.longbow.LongbowException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code POST /v1/completions} and {@code POST /v1/chat/completions}: one choice, whole or streamed as server-sent
 * events. A completion's prompt is tokenized after BOS with special tokens parsed (a hand-templated prompt works as
 * it does with Hugging Face); a chat's messages go through the model's template ({@link ChatTemplate}).
 */
final class Completions {
    enum Kind { TEXT, CHAT }

    private Completions() {}

    static int handle(HttpExchange ex, RequestBody b, Serving s, Kind kind) throws Exception {
        s.checkModel(b);
        boolean chat = kind == Kind.CHAT;
        List<Map<String, Object>> messages = chat ? chatFields(b) : null;
        String text = chat ? null : completionFields(b);
        GenerationParams p = GenerationParams.parse(b, chat, s.model.contextLength(), s.model.config().vocabSize());
        b.rejectUnread();
        // Rendered once the request is known to be valid, so that a template's refusal does not hide a parameter error.
        GenerationRun.Prompt prompt = chat
                ? new GenerationRun.Prompt(s.template.render(messages), s.template.plain(), !s.template.plain())
                : new GenerationRun.Prompt(text, true, true);
        Shapes shapes = new Shapes(kind, Serving.id(chat ? "chatcmpl-" : "cmpl-"), s.created, s.modelId);
        return p.stream() ? stream(ex, s, shapes, prompt, p) : whole(ex, s, shapes, prompt, p);
    }

    private static List<Map<String, Object>> chatFields(RequestBody b) {
        List<Map<String, Object>> messages = ChatMessages.parse(b.raw("messages"));
        b.onlyDefault("tools", List.of(), "tool calling");
        b.onlyDefault("functions", List.of(), "function calling");
        b.onlyDefault("tool_choice", "none", "tool_choice");
        b.onlyDefault("response_format", Map.of("type", "text"), "response_format other than text");
        b.ignore("parallel_tool_calls");
        return messages;
    }

    private static String completionFields(RequestBody b) {
        String text = prompt(b.raw("prompt"));
        b.onlyDefault("echo", false, "echo");
        b.onlyDefault("best_of", 1, "best_of");
        b.onlyDefault("suffix", null, "suffix");
        return text;
    }

    private static int whole(HttpExchange ex, Serving s, Shapes shapes, GenerationRun.Prompt prompt, GenerationParams p) throws Exception {
        AtomicBoolean cancel = new AtomicBoolean();
        GenerationRun.Outcome o = s.inSlot(cancel, () -> GenerationRun.run(s.model, s.texts, prompt, p, cancel, d -> { }));
        count(s, o);
        if (o.cancelled()) throw new ApiError(503, "server_error", "the server is shutting down", null, null);
        Exchanges.json(ex, 200, shapes.response(o, p.logprobs() >= 0));
        return 200;
    }

    private static int stream(HttpExchange ex, Serving s, Shapes shapes, GenerationRun.Prompt prompt, GenerationParams p) throws Exception {
        AtomicBoolean cancel = new AtomicBoolean();
        EventStream events = new EventStream(ex, cancel);
        boolean chat = shapes.kind() == Kind.CHAT;
        boolean[] roleSent = {false};
        GenerationRun.Outcome o;
        try {
            o = s.inSlot(cancel, () -> GenerationRun.run(s.model, s.texts, prompt, p, cancel, d -> {
                if (chat && !roleSent[0]) {
                    events.event(shapes.roleChunk());
                    roleSent[0] = true;
                }
                events.event(shapes.chunk(d, p.includeUsage()));
            }));
        } catch (LongbowException | ApiError e) {
            if (!events.started()) throw e;
            ApiError error = e instanceof ApiError a ? a : ApiError.badRequest(e.getMessage(), null);
            events.event(error.body());
            events.done();
            events.close();
            return error.status;
        } catch (RuntimeException e) {
            if (!events.started()) throw e;
            events.event(new ApiError(500, "server_error", "internal error: " + e, null, null).body());
            events.done();
            events.close();
            throw e;
        }
        count(s, o);
        if (!o.cancelled() && !events.disconnected()) {
            if (chat && !roleSent[0]) events.event(shapes.roleChunk());
            events.event(shapes.finalChunk(o.finishReason(), p.includeUsage()));
            if (p.includeUsage()) events.event(shapes.usageChunk(o));
            events.done();
        }
        events.close();
        if (events.disconnected()) s.metrics.cancelled.increment();
        return 200;
    }

    private static void count(Serving s, GenerationRun.Outcome o) {
        s.metrics.promptTokens.add(o.promptTokens());
        s.metrics.generatedTokens.add(o.completionTokens());
    }

    /** A string, or a list holding one string; token-id prompts and several prompts per request are not supported. */
    private static String prompt(Object v) {
        if (v == null) throw ApiError.badRequest("prompt is required", "prompt");
        if (v instanceof String s) return s;
        if (v instanceof List<?> list) {
            if (list.size() == 1 && list.getFirst() instanceof String s) return s;
            if (!list.isEmpty() && list.stream().allMatch(o -> o instanceof Number || o instanceof List)) {
                throw ApiError.unsupported("prompt", "a prompt of token ids");
            }
            if (list.size() > 1 && list.stream().allMatch(o -> o instanceof String)) {
                throw ApiError.unsupported("prompt", "more than one prompt per request");
            }
        }
        throw ApiError.badRequest("prompt must be a string or a list of one string", "prompt");
    }

    /** The JSON shapes of OpenAI's responses for one request. */
    private record Shapes(Kind kind, String id, long created, String model) {
        private Map<String, Object> envelope(boolean chunk) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", id);
            m.put("object", kind == Kind.CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
            m.put("created", created);
            m.put("model", model);
            if (kind == Kind.CHAT) m.put("system_fingerprint", null);
            return m;
        }

        Map<String, Object> response(GenerationRun.Outcome o, boolean logprobs) {
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            if (kind == Kind.CHAT) {
                Map<String, Object> message = new LinkedHashMap<>();
                message.put("role", "assistant");
                message.put("content", o.text());
                message.put("refusal", null);
                choice.put("message", message);
            } else {
                choice.put("text", o.text());
            }
            choice.put("logprobs", logprobs ? logprobs(o.logprobs()) : null);
            choice.put("finish_reason", o.finishReason());
            Map<String, Object> m = envelope(false);
            m.put("choices", List.of(choice));
            m.put("usage", usage(o));
            return m;
        }

        Map<String, Object> roleChunk() {
            Map<String, Object> delta = new LinkedHashMap<>();
            delta.put("role", "assistant");
            delta.put("content", "");
            return chunkWith(delta, null, null, false);
        }

        Map<String, Object> chunk(GenerationRun.Delta d, boolean usageField) {
            Object lp = d.logprobs() == null ? null : logprobs(d.logprobs());
            return chunkWith(kind == Kind.CHAT ? Map.of("content", d.text()) : d.text(), lp, null, usageField);
        }

        Map<String, Object> finalChunk(String finishReason, boolean usageField) {
            return chunkWith(kind == Kind.CHAT ? Map.of() : "", null, finishReason, usageField);
        }

        /** With stream_options.include_usage: after the last choice, a chunk with no choices and the usage. */
        Map<String, Object> usageChunk(GenerationRun.Outcome o) {
            Map<String, Object> m = envelope(true);
            m.put("choices", List.of());
            m.put("usage", usage(o));
            return m;
        }

        private Map<String, Object> chunkWith(Object deltaOrText, Object logprobs, String finishReason, boolean usageField) {
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", 0);
            choice.put(kind == Kind.CHAT ? "delta" : "text", deltaOrText);
            choice.put("logprobs", logprobs);
            choice.put("finish_reason", finishReason);
            Map<String, Object> m = envelope(true);
            m.put("choices", List.of(choice));
            if (usageField) m.put("usage", null);
            return m;
        }

        private Object logprobs(List<GenerationRun.Logprob> lps) {
            if (kind == Kind.CHAT) {
                List<Object> content = new ArrayList<>();
                for (GenerationRun.Logprob lp : lps) {
                    Map<String, Object> e = entry(lp.text(), lp.logprob());
                    List<Object> top = new ArrayList<>();
                    for (GenerationRun.Alternative a : lp.top()) top.add(entry(a.text(), a.logprob()));
                    e.put("top_logprobs", top);
                    content.add(e);
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("content", content);
                m.put("refusal", null);
                return m;
            }
            List<Object> tokens = new ArrayList<>(), tokenLogprobs = new ArrayList<>(), top = new ArrayList<>(), offsets = new ArrayList<>();
            for (GenerationRun.Logprob lp : lps) {
                tokens.add(lp.text());
                tokenLogprobs.add(lp.logprob());
                Map<String, Object> alternatives = new LinkedHashMap<>();
                for (GenerationRun.Alternative a : lp.top()) alternatives.putIfAbsent(a.text(), a.logprob());
                top.add(alternatives);
                offsets.add(lp.offset());
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tokens", tokens);
            m.put("token_logprobs", tokenLogprobs);
            m.put("top_logprobs", top);
            m.put("text_offset", offsets);
            return m;
        }

        private static Map<String, Object> entry(String token, double logprob) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("token", token);
            e.put("logprob", logprob);
            byte[] bytes = token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            List<Integer> list = new ArrayList<>(bytes.length);
            for (byte x : bytes) list.add(x & 0xFF);
            e.put("bytes", list);
            return e;
        }

        private static Map<String, Object> usage(GenerationRun.Outcome o) {
            Map<String, Object> u = new LinkedHashMap<>();
            u.put("prompt_tokens", o.promptTokens());
            u.put("completion_tokens", o.completionTokens());
            u.put("total_tokens", o.promptTokens() + o.completionTokens());
            // Prompt tokens whose keys and values an earlier request with the same prefix computed (prefix sharing).
            u.put("prompt_tokens_details", Map.of("cached_tokens", o.cachedPromptTokens()));
            return u;
        }
    }
}
