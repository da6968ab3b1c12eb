package dev.longbow.api;

import dev.longbow.LongbowException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Runs generations and embeddings on a {@link Model} from a fixed number of threads, returning futures; safe to
 * submit from any number of threads. Each running task holds its own activations and KV cache, so {@code threads}
 * bounds that memory; the rest wait in a queue of at most {@code maxQueued}, past which a submission fails at once
 * (back-pressure, rather than unbounded memory). A future fails with the {@link dev.longbow.LongbowException} that
 * bad input raised; {@code cancel(true)} on it stops its generation before the next token (or its embedding before
 * the next text). {@link #close()} cancels what is still queued and waits for what runs; it does not close the model.
 */
public final class ModelExecutor implements AutoCloseable {
    private static final AtomicInteger EXECUTORS = new AtomicInteger();

    private final Model model;
    private final ThreadPoolExecutor pool;

    public ModelExecutor(Model model, int threads, int maxQueued) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (maxQueued < 0) throw new IllegalArgumentException("maxQueued must be >= 0, got " + maxQueued);
        this.model = model;
        int id = EXECUTORS.incrementAndGet();
        AtomicInteger n = new AtomicInteger();
        // With no queue a task is handed straight to an idle worker or refused.
        BlockingQueue<Runnable> queue = maxQueued == 0 ? new SynchronousQueue<>() : new LinkedBlockingQueue<>(maxQueued);
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, queue, r -> {
            Thread t = new Thread(r, "longbow-executor-" + id + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** {@code threads} workers and an unbounded queue. */
    public ModelExecutor(Model model, int threads) {
        this(model, threads, Integer.MAX_VALUE);
    }

    public Model model() {
        return model;
    }

    /** Generates as {@link Model#generate} does, on a worker. Cancelling the future sets the request's cancel flag. */
    public CompletableFuture<GenerateResult> submit(GenerateRequest request) {
        return enqueue(() -> model.generate(request), request.cancelled());
    }

    /** Embeds as {@link Model#embed(List, EmbedOptions)} does, on a worker. */
    public CompletableFuture<List<Embedding>> submitEmbed(List<String> texts, EmbedOptions options) {
        // A copy, so the caller may reuse its list; nulls stay, for embed to report by index.
        List<String> copy = Collections.unmodifiableList(new ArrayList<>(texts));
        AtomicBoolean cancelled = new AtomicBoolean();
        return enqueue(() -> model.embed(copy, options, cancelled::get, true), cancelled);
    }

    private <T> CompletableFuture<T> enqueue(Supplier<T> work, AtomicBoolean cancelled) {
        Task<T> task = new Task<>(work);
        // CompletableFuture.cancel never interrupts; the flag is how a running task learns of it.
        task.future.whenComplete((r, e) -> {
            if (e instanceof CancellationException) cancelled.set(true);
        });
        try {
            pool.execute(task);
        } catch (RejectedExecutionException e) {
            task.future.completeExceptionally(pool.isShutdown()
                    ? new IllegalStateException("executor is closed")
                    : new LongbowException("too many requests: " + pool.getQueue().size() + " already waiting"));
        }
        return task.future;
    }

    /** Stops taking work, cancels every queued task's future, and waits for the running ones to finish. */
    @Override
    public void close() {
        for (Runnable r : pool.shutdownNow()) ((Task<?>) r).future.cancel(false);
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(1, TimeUnit.DAYS)) break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static final class Task<T> implements Runnable {
        final CompletableFuture<T> future = new CompletableFuture<>();
        final Supplier<T> work;

        Task(Supplier<T> work) {
            this.work = work;
        }

        @Override
        public void run() {
            if (future.isDone()) return; // cancelled while queued
            try {
                future.complete(work.get());
            } catch (Throwable t) {
                future.completeExceptionally(t);
            }
        }
    }
}
