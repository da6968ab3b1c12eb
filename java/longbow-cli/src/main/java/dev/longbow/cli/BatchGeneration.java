package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.api.Model;
import dev.longbow.engine.StopReason;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Generates one batch item and returns its result line. Stop sequences are watched in the streamed text: the first
 * one to appear cancels the generation, the text is cut where it begins, and the finish reason is "stop". A problem
 * with the item itself (a prompt longer than the context) becomes a line with an "error" so it is not retried forever.
 */
final class BatchGeneration {
    private BatchGeneration() {}

    /**
     * The result line, or null if {@code cancel} was set from outside (the run is stopping; the item stays undone).
     * {@code cancel} must be fresh for this item: a stop sequence sets it too.
     */
    static Map<String, Object> run(Model model, BatchItem item, boolean addBos, boolean parseSpecial, AtomicBoolean cancel, Runnable onToken) {
        long start = System.nanoTime();
        StringBuilder text = new StringBuilder();
        int[] cut = {-1};
        GenerateResult r;
        try {
            r = model.stream(new GenerateRequest(item.prompt(), item.maxTokens(), item.sampling(), addBos, parseSpecial, false, cancel, -1, item.priority()), (id, piece) -> {
                if (id >= 0) onToken.run();
                if (item.stop().isEmpty() || cut[0] >= 0) return;
                int checked = text.length();
                text.append(piece);
                cut[0] = firstStop(text, item.stop(), checked);
                if (cut[0] >= 0) cancel.set(true);
            });
        } catch (LongbowException e) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("id", item.id());
            o.put("error", e.getMessage());
            return o;
        }
        if (r.stopReason() == StopReason.CANCELLED && cut[0] < 0) return null;
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", item.id());
        o.put("text", cut[0] >= 0 ? text.substring(0, cut[0]) : r.text());
        o.put("prompt_tokens", r.promptTokens());
        o.put("completion_tokens", r.generatedTokens());
        o.put("cached_prompt_tokens", r.cachedPromptTokens());
        o.put("finish_reason", cut[0] >= 0 ? "stop" : switch (r.stopReason()) {
            case END_OF_TEXT -> "stop";
            case MAX_TOKENS -> "length";
            case CONTEXT_FULL -> "context";
            case CANCELLED -> throw new IllegalStateException("cancelled without a stop sequence");
        });
        o.put("prefill_tok_s", round(r.prefillTokensPerSecond()));
        o.put("decode_tok_s", round(r.decodeTokensPerSecond()));
        o.put("ttft_ms", round(r.timeToFirstTokenMillis()));
        o.put("seconds", round((System.nanoTime() - start) / 1e9));
        o.put("seed", item.sampling().seed());
        return o;
    }

    /**
     * Where the earliest stop sequence starts in {@code text}, given that none occurred in its first {@code checked}
     * characters (so only matches ending after them are looked for); -1 if none.
     */
    static int firstStop(StringBuilder text, List<String> stops, int checked) {
        int best = -1;
        for (String stop : stops) {
            int i = text.indexOf(stop, Math.max(0, checked - stop.length() + 1));
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
