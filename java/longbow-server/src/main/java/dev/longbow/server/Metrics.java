package dev.longbow.server;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * The server's counters in Prometheus' text exposition format (version 0.0.4): requests by endpoint and status,
 * a latency histogram by endpoint, prompt and generated tokens, requests in flight and waiting for a generation
 * slot, and generations cut short by a client that went away. Endpoints are the fixed routes (anything else counts
 * as "other") so a scanner cannot grow the label set.
 */
final class Metrics {
    static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

    private record Key(String endpoint, int status) {}

    private static final class Histogram {
        final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length + 1);
        final DoubleAdder sum = new DoubleAdder();
    }

    private final Map<Key, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    final LongAdder promptTokens = new LongAdder();
    final LongAdder generatedTokens = new LongAdder();
    final LongAdder cancelled = new LongAdder();
    final AtomicLong inFlight = new AtomicLong();
    final AtomicLong waiting = new AtomicLong();

    void request(String endpoint, int status, double seconds) {
        requests.computeIfAbsent(new Key(endpoint, status), k -> new LongAdder()).increment();
        Histogram h = latency.computeIfAbsent(endpoint, k -> new Histogram());
        int b = 0;
        while (b < BUCKETS.length && seconds > BUCKETS[b]) b++;
        h.counts.incrementAndGet(b);
        h.sum.add(seconds);
    }

    String render(dev.longbow.engine.BatchScheduler.Stats batching) {
        StringBuilder sb = new StringBuilder();
        header(sb, "longbow_requests_total", "counter", "HTTP requests answered, by endpoint and status code.");
        Map<String, Long> sorted = new TreeMap<>();
        requests.forEach((k, v) -> sorted.put("endpoint=\"" + k.endpoint() + "\",status=\"" + k.status() + "\"", v.sum()));
        sorted.forEach((labels, v) -> sb.append("longbow_requests_total{").append(labels).append("} ").append(v).append('\n'));

        header(sb, "longbow_request_duration_seconds", "histogram", "Time from request to the end of the response, by endpoint.");
        new TreeMap<>(latency).forEach((endpoint, h) -> {
            long cumulative = 0;
            for (int b = 0; b <= BUCKETS.length; b++) {
                cumulative += h.counts.get(b);
                String le = b < BUCKETS.length ? number(BUCKETS[b]) : "+Inf";
                sb.append("longbow_request_duration_seconds_bucket{endpoint=\"").append(endpoint).append("\",le=\"").append(le).append("\"} ")
                        .append(cumulative).append('\n');
            }
            sb.append("longbow_request_duration_seconds_sum{endpoint=\"").append(endpoint).append("\"} ").append(number(h.sum.sum())).append('\n');
            sb.append("longbow_request_duration_seconds_count{endpoint=\"").append(endpoint).append("\"} ").append(cumulative).append('\n');
        });

        counter(sb, "longbow_prompt_tokens_total", "counter", "Prompt tokens of finished generations and embeddings.", promptTokens.sum());
        counter(sb, "longbow_generated_tokens_total", "counter", "Tokens generated.", generatedTokens.sum());
        counter(sb, "longbow_requests_cancelled_total", "counter", "Generations stopped because the client disconnected.", cancelled.sum());
        counter(sb, "longbow_requests_in_flight", "gauge", "API requests being handled, waiting ones included.", inFlight.get());
        counter(sb, "longbow_requests_waiting", "gauge", "API requests waiting for a generation slot (--parallel).", waiting.get());
        if (batching != null) {
            counter(sb, "longbow_batch_max_sequences", "gauge", "Sequences one batched decode step may hold (--parallel).", batching.maxBatch());
            counter(sb, "longbow_batch_sequences", "gauge", "Sequences in the last batched decode step.", batching.lastStepRows());
            counter(sb, "longbow_batch_decode_steps_total", "counter", "Batched decode steps run.", batching.decodeSteps());
            counter(sb, "longbow_batch_decoded_tokens_total", "counter", "Tokens those steps decoded (rows summed over steps; / steps = mean batch size).", batching.decodedRows());
            counter(sb, "longbow_batch_preemptions_total", "counter", "Sequences preempted to free KV memory (recomputed when they run again).", batching.preemptions());
            var kv = batching.kv();
            counter(sb, "longbow_kv_blocks_capacity", "gauge", "KV blocks the memory budget holds (--kv-memory).", kv.capacityBlocks());
            counter(sb, "longbow_kv_blocks_in_use", "gauge", "KV blocks held by running sequences.", kv.blocksInUse());
            counter(sb, "longbow_kv_blocks_cached", "gauge", "KV blocks holding a finished sequence's prompt prefix, kept for reuse.", kv.blocksCached());
            counter(sb, "longbow_prefix_cache_hit_tokens_total", "counter", "Prompt positions taken from an earlier sequence's identical prefix instead of computed.", kv.prefixHits());
            counter(sb, "longbow_kv_copy_on_write_total", "counter", "Shared KV blocks copied before a sequence wrote into them.", kv.copiesOnWrite());
        }
        return sb.toString();
    }

    private static void header(StringBuilder sb, String name, String type, String help) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void counter(StringBuilder sb, String name, String type, String help, long value) {
        header(sb, name, type, help);
        sb.append(name).append(' ').append(value).append('\n');
    }

    private static String number(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : String.format(Locale.ROOT, "%s", d);
    }
}
