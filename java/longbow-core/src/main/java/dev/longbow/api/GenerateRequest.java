package dev.longbow.api;

import dev.longbow.engine.SamplerParams;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One generation: the prompt, how many new tokens at most, how to sample, and a flag the caller may set from any
 * thread to cancel (generation stops before its next token and returns what it has). With {@code parseSpecial},
 * special tokens spelled in the prompt (a chat template's {@code <|start_header_id|>}) become their ids.
 */
public record GenerateRequest(String prompt, int maxTokens, SamplerParams sampling, boolean addBos, boolean parseSpecial,
                              boolean echoPrompt, AtomicBoolean cancelled) {
    public GenerateRequest {
        if (prompt == null) prompt = "";
        if (sampling == null) sampling = SamplerParams.GREEDY;
        if (cancelled == null) cancelled = new AtomicBoolean();
    }

    /** Greedy, with BOS, not echoing the prompt. */
    public static GenerateRequest of(String prompt, int maxTokens) {
        return new GenerateRequest(prompt, maxTokens, SamplerParams.GREEDY, true, false, false, new AtomicBoolean());
    }

    public GenerateRequest withSampling(SamplerParams s) {
        return new GenerateRequest(prompt, maxTokens, s, addBos, parseSpecial, echoPrompt, cancelled);
    }

    public GenerateRequest withEchoPrompt(boolean echo) {
        return new GenerateRequest(prompt, maxTokens, sampling, addBos, parseSpecial, echo, cancelled);
    }

    public GenerateRequest withParseSpecial(boolean parse) {
        return new GenerateRequest(prompt, maxTokens, sampling, addBos, parse, echoPrompt, cancelled);
    }

    public void cancel() {
        cancelled.set(true);
    }
}
