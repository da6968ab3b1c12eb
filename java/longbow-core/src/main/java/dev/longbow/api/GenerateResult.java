package dev.longbow.api;

import dev.longbow.engine.StopReason;

/**
 * What a generation produced: the new text (plus the prompt if echoed), token counts, why it stopped, speed, and the
 * fraction of dense causal attention's score FLOPs that an attention window or sparse pattern skipped, and the
 * memory its KV cache held at most. With continuous batching, {@code cachedPromptTokens} counts the prompt tokens
 * whose keys and values came from an earlier request's identical prefix instead of being computed (OpenAI's
 * {@code usage.prompt_tokens_details.cached_tokens}).
 */
public record GenerateResult(String text, int[] tokens, int promptTokens, int generatedTokens, StopReason stopReason,
                             double prefillTokensPerSecond, double decodeTokensPerSecond, double timeToFirstTokenMillis,
                             double attentionFlopsSkipped, long kvCacheBytes, int cachedPromptTokens) {}
