package dev.longbow.cli;

import dev.longbow.api.Model;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Runs batch items on N worker threads, each taking the next item and generating it on the shared model (Model is
 * thread-safe; every generation has its own KV cache), then appending its line to the output. Lines therefore land
 * in the order they finish, not the input order. If anything goes wrong beyond one item (a write fails, an internal
 * error), the other workers' generations are cancelled, left unwritten, and the failure is rethrown.
 */
final class BatchRunner {
    /** Lines written with a result, lines written with an error. */
    record Outcome(int results, int errors) {}

    private BatchRunner() {}

    static Outcome run(Model model, List<BatchItem> todo, int concurrency, boolean addBos, boolean parseSpecial, BatchOutput out,
                       BatchProgress progress, long tickNanos) throws Exception {
        int workers = Math.max(1, Math.min(concurrency, todo.size()));
        AtomicInteger next = new AtomicInteger(), results = new AtomicInteger(), errors = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReferenceArray<AtomicBoolean> inFlight = new AtomicReferenceArray<>(workers);
        CountDownLatch finished = new CountDownLatch(workers);
        for (int w = 0; w < workers; w++) {
            int slot = w;
            Thread t = new Thread(() -> {
                try {
                    for (int i; failure.get() == null && (i = next.getAndIncrement()) < todo.size(); ) {
                        AtomicBoolean cancel = new AtomicBoolean();
                        inFlight.set(slot, cancel);
                        if (failure.get() != null) break; // a failure between the check above and publishing the flag
                        Map<String, Object> line = BatchGeneration.run(model, todo.get(i), addBos, parseSpecial, cancel, progress::token);
                        if (line == null) break;
                        out.write(line);
                        (line.containsKey("error") ? errors : results).incrementAndGet();
                        progress.lineDone();
                    }
                } catch (Throwable e) {
                    if (failure.compareAndSet(null, e)) cancelAll(inFlight);
                } finally {
                    finished.countDown();
                }
            }, "longbow-batch-" + w);
            t.setDaemon(true);
            t.start();
        }
        while (!finished.await(tickNanos, TimeUnit.NANOSECONDS)) {
            progress.tick(System.nanoTime());
            try {
                out.forceIfDue(System.nanoTime());
            } catch (java.io.IOException e) {
                if (failure.compareAndSet(null, e)) cancelAll(inFlight);
            }
        }
        progress.tick(System.nanoTime());
        progress.finish(System.nanoTime());
        Throwable f = failure.get();
        if (f instanceof Exception e) throw e;
        if (f instanceof Error e) throw e;
        return new Outcome(results.get(), errors.get());
    }

    private static void cancelAll(AtomicReferenceArray<AtomicBoolean> inFlight) {
        for (int k = 0; k < inFlight.length(); k++) {
            AtomicBoolean c = inFlight.get(k);
            if (c != null) c.set(true);
        }
    }
}
