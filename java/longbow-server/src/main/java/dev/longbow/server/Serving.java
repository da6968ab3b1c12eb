package dev.longbow.server;

import dev.longbow.api.Model;

import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the API endpoints share: the model with its id, chat template and token texts, the metrics, and the slots
 * that bound how many requests run the model at once (each holds its own KV cache; the rest wait their turn).
 */
final class Serving {
    final Model model;
    final String modelId;
    final long created;
    final ChatTemplate template;
    final TokenTexts texts;
    final Metrics metrics;
    private final Semaphore slots;
    /** Cancel flags of the generations running or waiting, so that closing the server stops them. */
    private final Set<AtomicBoolean> active = ConcurrentHashMap.newKeySet();

    Serving(Model model, String modelId, ChatTemplate template, Metrics metrics, int parallel) {
        this.model = model;
        this.modelId = modelId;
        this.created = System.currentTimeMillis() / 1000;
        this.template = template;
        this.texts = new TokenTexts(model.tokenizer());
        this.metrics = metrics;
        this.slots = new Semaphore(parallel, true);
    }

    /** A request's {@code model}: absent means the loaded one; any other name is OpenAI's 404 model_not_found. */
    void checkModel(RequestBody b) {
        String m = b.string("model");
        if (m != null && !m.equals(modelId)) {
            throw new ApiError(404, "invalid_request_error", "The model `" + m + "` does not exist; this server serves `" + modelId + "`",
                    "model", "model_not_found");
        }
    }

    /** Runs {@code work} once a slot is free; {@code cancel} (may be null) is set if the server closes meanwhile. */
    <T> T inSlot(AtomicBoolean cancel, Callable<T> work) throws Exception {
        if (cancel != null) active.add(cancel);
        try {
            metrics.waiting.incrementAndGet();
            try {
                slots.acquire();
            } finally {
                metrics.waiting.decrementAndGet();
            }
            try {
                return work.call();
            } finally {
                slots.release();
            }
        } finally {
            if (cancel != null) active.remove(cancel);
        }
    }

    void cancelAll() {
        for (AtomicBoolean c : active) c.set(true);
    }

    static String id(String prefix) {
        return prefix + java.util.UUID.randomUUID().toString().replace("-", "");
    }
}
