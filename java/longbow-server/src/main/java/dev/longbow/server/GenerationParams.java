package dev.longbow.server;

import dev.longbow.engine.SamplerParams;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * What both completion endpoints take besides the prompt: token budget, sampling, stop sequences, log-probabilities
 * ({@code logprobs} -1 = none, else the number of alternatives per token) and streaming. Defaults are OpenAI's:
 * temperature 1, top_p 1, no seed (a random one), max_tokens 16 for completions and up to the context for chat.
 * {@code presence_penalty} and {@code frequency_penalty} (OpenAI's, over the generated tokens, as vLLM applies them),
 * {@code logit_bias}.
 * {@code top_k}, {@code min_p} and {@code repetition_penalty} are accepted as extensions, as vLLM and llama.cpp do,
 * and {@code priority} (vLLM's spelling): with continuous batching a waiting request of higher priority joins first.
 */
record GenerationParams(int maxTokens, SamplerParams sampling, List<String> stop, int logprobs, boolean stream, boolean includeUsage,
                        int priority) {
    /** OpenAI's limits: four stop sequences, twenty alternatives. */
    static final int MAX_STOPS = 4, MAX_TOP_LOGPROBS = 20;

    /** OpenAI's {@code logit_bias}: an object from token id (a string of digits) to a bias in [-100, 100]. */
    private static dev.longbow.engine.LogitBias logitBias(Object raw, int vocabSize) {
        if (raw == null) return dev.longbow.engine.LogitBias.NONE;
        if (!(raw instanceof java.util.Map<?, ?> m)) throw ApiError.badRequest("logit_bias must be an object from token id to bias", "logit_bias");
        java.util.Map<Integer, Float> bias = new java.util.HashMap<>();
        for (var e : m.entrySet()) {
            int token;
            try {
                token = Integer.parseInt(String.valueOf(e.getKey()));
            } catch (NumberFormatException x) {
                throw ApiError.badRequest("logit_bias: '" + e.getKey() + "' is not a token id", "logit_bias");
            }
            if (token < 0 || token >= vocabSize) {
                throw ApiError.badRequest("logit_bias: token id " + token + " is outside the vocabulary (0 to " + (vocabSize - 1) + ")", "logit_bias");
            }
            if (!(e.getValue() instanceof Number v) || !(v.doubleValue() >= -100 && v.doubleValue() <= 100)) {
                throw ApiError.badRequest("logit_bias: the bias of token " + token + " must be a number from -100 to 100", "logit_bias");
            }
            bias.put(token, v.floatValue());
        }
        return dev.longbow.engine.LogitBias.of(bias);
    }

    static GenerationParams parse(RequestBody b, boolean chat, int contextLength, int vocabSize) {
        Long n = b.integer("n", 1, Integer.MAX_VALUE);
        if (n != null && n != 1) throw ApiError.unsupported("n", "n other than 1 (one choice per request)");
        Long max = b.integer("max_tokens", 0, Integer.MAX_VALUE);
        if (chat) {
            Long maxCompletion = b.integer("max_completion_tokens", 0, Integer.MAX_VALUE);
            if (max == null) max = maxCompletion;
        }
        int maxTokens = max != null ? (int) Math.min(max, contextLength) : chat ? contextLength : 16;
        Double temperature = b.number("temperature", 0, 2);
        Double topP = b.number("top_p", 0, 1);
        if (topP != null && topP == 0) throw ApiError.badRequest("top_p must be above 0", "top_p");
        Long topK = b.integer("top_k", 0, Integer.MAX_VALUE);
        Double minP = b.number("min_p", 0, 0.999999);
        Double penalty = b.number("repetition_penalty", 1e-3, 100);
        Long seed = b.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE);
        Long priority = b.integer("priority", Integer.MIN_VALUE, Integer.MAX_VALUE);
        Double presence = b.number("presence_penalty", -2, 2), frequency = b.number("frequency_penalty", -2, 2);
        SamplerParams sampling = new SamplerParams(temperature == null ? 1f : temperature.floatValue(), topK == null ? 0 : topK.intValue(),
                topP == null ? 1f : topP.floatValue(), minP == null ? 0f : minP.floatValue(), penalty == null ? 1f : penalty.floatValue(), 64,
                seed != null ? seed : ThreadLocalRandom.current().nextLong())
                .withPenalties(presence == null ? 0f : presence.floatValue(), frequency == null ? 0f : frequency.floatValue())
                .withLogitBias(logitBias(b.raw("logit_bias"), vocabSize));
        List<String> stop = b.strings("stop", MAX_STOPS).stream().filter(s -> !s.isEmpty()).toList();

        int logprobs = -1;
        if (chat) {
            Boolean want = b.bool("logprobs");
            Long top = b.integer("top_logprobs", 0, MAX_TOP_LOGPROBS);
            if (top != null && !Boolean.TRUE.equals(want)) throw ApiError.badRequest("top_logprobs needs logprobs set to true", "top_logprobs");
            if (Boolean.TRUE.equals(want)) logprobs = top == null ? 0 : top.intValue();
        } else {
            Long top = b.integer("logprobs", 0, MAX_TOP_LOGPROBS);
            if (top != null) logprobs = top.intValue();
        }

        boolean stream = Boolean.TRUE.equals(b.bool("stream"));
        boolean includeUsage = false;
        Object options = b.raw("stream_options");
        if (options != null) {
            if (!stream) throw ApiError.badRequest("stream_options is only allowed with stream set to true", "stream_options");
            if (!(options instanceof java.util.Map<?, ?> m)) throw ApiError.badRequest("stream_options must be an object", "stream_options");
            for (var e : m.entrySet()) {
                if (!"include_usage".equals(e.getKey())) throw ApiError.badRequest("Unrecognized stream_options field: " + e.getKey(), "stream_options");
                if (e.getValue() != null && !(e.getValue() instanceof Boolean)) throw ApiError.badRequest("stream_options.include_usage must be a boolean", "stream_options");
                includeUsage = Boolean.TRUE.equals(e.getValue());
            }
        }

        // Accepted at the values that mean "off"; anything else asks for a feature this server lacks.
        b.ignore("user", "metadata", "store", "service_tier");
        return new GenerationParams(maxTokens, sampling, stop, logprobs, stream, includeUsage, priority == null ? 0 : priority.intValue());
    }
}
