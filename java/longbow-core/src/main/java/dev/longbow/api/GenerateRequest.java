package dev.longbow.api;

import dev.longbow.LongbowException;
import dev.longbow.engine.SamplerParams;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One generation: the prompt, how many new tokens at most, how to sample, and a flag the caller may set from any
 * thread to cancel (generation stops before its next token and returns what it has). With {@code parseSpecial},
 * special tokens spelled in the prompt (a chat template's {@code <|start_header_id|>}) become their ids.
 * {@code logprobs} -1 reports no log-probabilities; 0 or more reports each token's and that many alternatives'
 * (see {@link TokenListener}). {@code priority}: with batching ({@link Model#enableBatching}), waiting requests
 * join the batch highest priority first (default 0), then in arrival order.
 */
public record GenerateRequest(String prompt, int maxTokens, SamplerParams sampling, boolean addBos, boolean parseSpecial,
                              boolean echoPrompt, AtomicBoolean cancelled, int logprobs, int priority) {
    public GenerateRequest {
        if (prompt == null) prompt = "";
        if (sampling == null) sampling = SamplerParams.GREEDY;
        if (cancelled == null) cancelled = new AtomicBoolean();
        if (logprobs < -1) throw new LongbowException("logprobs must be -1 (none) or >= 0, got " + logprobs);
    }

    public GenerateRequest(String prompt, int maxTokens, SamplerParams sampling, boolean addBos, boolean parseSpecial,
                           boolean echoPrompt, AtomicBoolean cancelled, int logprobs) {
        this(prompt, maxTokens, sampling, addBos, parseSpecial, echoPrompt, cancelled, logprobs, 0);
    }

    public GenerateRequest(String prompt, int maxTokens, SamplerParams sampling, boolean addBos, boolean parseSpecial,
                           boolean echoPrompt, AtomicBoolean cancelled) {
        this(prompt, maxTokens, sampling, addBos, parseSpecial, echoPrompt, cancelled, -1, 0);
    }

    /** Greedy, with BOS, not echoing the prompt. */
    public static GenerateRequest of(String prompt, int maxTokens) {
        return new GenerateRequest(prompt, maxTokens, SamplerParams.GREEDY, true, false, false, new AtomicBoolean());
    }

    public GenerateRequest withSampling(SamplerParams s) {
        return new GenerateRequest(prompt, maxTokens, s, addBos, parseSpecial, echoPrompt, cancelled, logprobs, priority);
    }

    public GenerateRequest withEchoPrompt(boolean echo) {
        return new GenerateRequest(prompt, maxTokens, sampling, addBos, parseSpecial, echo, cancelled, logprobs, priority);
    }

    public GenerateRequest withParseSpecial(boolean parse) {
        return new GenerateRequest(prompt, maxTokens, sampling, addBos, parse, echoPrompt, cancelled, logprobs, priority);
    }

    public GenerateRequest withLogprobs(int top) {
        return new GenerateRequest(prompt, maxTokens, sampling, addBos, parseSpecial, echoPrompt, cancelled, top, priority);
    }

    public GenerateRequest withPriority(int p) {
        return new GenerateRequest(prompt, maxTokens, sampling, addBos, parseSpecial, echoPrompt, cancelled, logprobs, p);
    }

    public void cancel() {
        cancelled.set(true);
    }
}
