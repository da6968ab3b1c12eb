package dev.longbow.api;

import dev.longbow.engine.SamplerParams;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One generation: the prompt, how many new tokens at most, how to sample, and a flag the caller may set from any
 * thread to cancel (generation stops before its next token and returns what it has).
 */
public record GenerateRequest(String prompt, int maxTokens, SamplerParams sampling, boolean addBos, boolean echoPrompt,
                              AtomicBoolean cancelled) {
    public GenerateRequest {
        if (prompt == null) prompt = "";
        if (sampling == null) sampling = SamplerParams.GREEDY;
        if (cancelled == null) cancelled = new AtomicBoolean();
    }

    /** Greedy, with BOS, not echoing the prompt. */
    public static GenerateRequest of(String prompt, int maxTokens) {
        return new GenerateRequest(prompt, maxTokens, SamplerParams.GREEDY, true, false, new AtomicBoolean());
    }

    public GenerateRequest withSampling(SamplerParams s) {
        return new GenerateRequest(prompt, maxTokens, s, addBos, echoPrompt, cancelled);
    }

    public GenerateRequest withEchoPrompt(boolean echo) {
        return new GenerateRequest(prompt, maxTokens, sampling, addBos, echo, cancelled);
    }

    public void cancel() {
        cancelled.set(true);
    }
}
