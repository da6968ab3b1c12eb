package dev.longbow.server;

import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.api.Model;
import dev.longbow.engine.StopReason;
import dev.longbow.engine.TokenLogprobs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One generation for an endpoint: runs the model, cuts the text at the first stop sequence, and hands out the text
 * in the pieces it may be shown, each with the log-probabilities of the tokens it completes. A token whose text lies
 * wholly after a stop is dropped with it.
 */
final class GenerationRun {
    /** A token as log-probabilities report it; {@code offset} is where its text starts in the completion. */
    record Logprob(int token, String text, double logprob, int offset, List<Alternative> top) {}

    record Alternative(int token, String text, double logprob) {}

    /**
     * The prompt text and how to tokenize it: a completion's after BOS with special tokens parsed; a chat template's
     * as it is (it writes BOS itself) with special tokens parsed; the plain transcript after BOS as ordinary text.
     */
    record Prompt(String text, boolean addBos, boolean parseSpecial) {}

    /** Text that may be shown now, and the log-probabilities of its tokens (null when they were not asked for). */
    record Delta(String text, List<Logprob> logprobs) {}

    interface Deltas {
        void accept(Delta d);
    }

    /** {@code finishReason} is OpenAI's: "stop" (end of text or a stop sequence) or "length"; null when cancelled. */
    record Outcome(String text, String finishReason, int promptTokens, int cachedPromptTokens, int completionTokens, List<Logprob> logprobs) {
        boolean cancelled() {
            return finishReason == null;
        }
    }

    private GenerationRun() {}

    /**
     * Generates for {@code prompt}; {@code cancel} is this request's flag (a disconnected client sets it). Throws
     * LongbowException for a prompt the model cannot take (longer than the context), before any delta.
     */
    static Outcome run(Model model, TokenTexts texts, Prompt prompt, GenerationParams p, AtomicBoolean cancel, Deltas deltas) {
        StopMatcher stops = new StopMatcher(p.stop());
        boolean wantLogprobs = p.logprobs() >= 0;
        List<Logprob> pending = new ArrayList<>(), all = wantLogprobs ? new ArrayList<>() : null;
        StringBuilder shown = new StringBuilder();
        GenerateRequest request = new GenerateRequest(prompt.text(), p.maxTokens(), p.sampling(), prompt.addBos(), prompt.parseSpecial(), false,
                cancel, p.logprobs(), p.priority());
        GenerateResult r = model.stream(request, (id, piece, lp) -> {
            if (stops.stopped()) return;
            if (lp != null) pending.add(logprob(texts, lp, stops.length()));
            String out = stops.push(piece);
            if (stops.stopped()) cancel.set(true);
            emit(out, stops.released(), pending, all, shown, wantLogprobs, deltas);
        });
        String finish;
        if (stops.stopped()) {
            finish = "stop";
        } else if (r.stopReason() == StopReason.CANCELLED) {
            finish = null;
        } else {
            emit(stops.finish(), Integer.MAX_VALUE, pending, all, shown, wantLogprobs, deltas);
            finish = r.stopReason() == StopReason.END_OF_TEXT ? "stop" : "length";
        }
        return new Outcome(shown.toString(), finish, r.promptTokens(), r.cachedPromptTokens(), r.generatedTokens(), all);
    }

    /** Passes on {@code text} with the pending tokens that start before {@code releasedUpTo}. */
    private static void emit(String text, int releasedUpTo, List<Logprob> pending, List<Logprob> all, StringBuilder shown,
                             boolean wantLogprobs, Deltas deltas) {
        List<Logprob> ready = null;
        if (wantLogprobs) {
            ready = new ArrayList<>();
            while (!pending.isEmpty() && pending.getFirst().offset() < releasedUpTo) ready.add(pending.removeFirst());
            all.addAll(ready);
        }
        if (text.isEmpty() && (ready == null || ready.isEmpty())) return;
        shown.append(text);
        deltas.accept(new Delta(text, ready));
    }

    private static Logprob logprob(TokenTexts texts, TokenLogprobs lp, int offset) {
        List<Alternative> top = new ArrayList<>(lp.topTokens().length);
        for (int i = 0; i < lp.topTokens().length; i++) {
            top.add(new Alternative(lp.topTokens()[i], texts.text(lp.topTokens()[i]), lp.topLogprobs()[i]));
        }
        return new Logprob(lp.token(), texts.text(lp.token()), lp.logprob(), offset, top);
    }
}
