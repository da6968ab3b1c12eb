package dev.longbow.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Threads started once and reused for every operation of every token. The caller publishes a job; each thread,
 * the caller's included, runs its own contiguous share of the task indices (static shares: the tasks are uniform
 * matrix-row bands, and no shared counter has to be reset between jobs), and the caller waits for the last share.
 * Nothing is allocated per job. Idle workers spin briefly (the next matmul usually follows within microseconds),
 * then park so an idle engine costs no CPU. Jobs run one at a time; callers on several threads take turns.
 */
final class WorkerPool implements AutoCloseable {
    /** About 20-50 microseconds of spinning before a worker parks. */
    private static final int SPIN_LIMIT = 20_000;

    private final Thread[] workers;
    private final AtomicInteger finishedWorkers = new AtomicInteger();
    private volatile IntConsumer job;
    private volatile int taskCount;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    WorkerPool(int threads) {
        workers = new Thread[Math.max(0, threads - 1)];
        for (int i = 0; i < workers.length; i++) {
            int share = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("longbow-cpu-" + share).unstarted(() -> workerLoop(share));
            workers[i].start();
        }
    }

    int threads() {
        return workers.length + 1;
    }

    /** Runs {@code job.accept(i)} for every i in [0, tasks), spread over the pool's threads including the caller's. */
    synchronized void run(int tasks, IntConsumer job) {
        if (tasks <= 0) return;
        if (workers.length == 0 || tasks == 1) {
            for (int i = 0; i < tasks; i++) job.accept(i);
            return;
        }
        this.job = job;
        this.taskCount = tasks;
        this.failure = null;
        finishedWorkers.set(0);
        generation++; // the volatile write that publishes the fields above to the workers
        for (Thread w : workers) LockSupport.unpark(w);
        runShare(0);
        while (finishedWorkers.get() < workers.length) Thread.onSpinWait();
        this.job = null;
        Throwable f = failure;
        if (f instanceof RuntimeException r) throw r;
        if (f instanceof Error e) throw e;
        if (f != null) throw new IllegalStateException(f);
    }

    private void runShare(int share) {
        int threads = workers.length + 1, tasks = taskCount;
        int from = (int) ((long) tasks * share / threads), to = (int) ((long) tasks * (share + 1) / threads);
        try {
            for (int i = from; i < to; i++) job.accept(i);
        } catch (Throwable t) {
            failure = t;
        }
    }

    private void workerLoop(int share) {
        int seen = 0;
        while (true) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins < SPIN_LIMIT) Thread.onSpinWait();
                else LockSupport.park(this);
            }
            if (closed) return;
            seen = generation;
            runShare(share);
            finishedWorkers.incrementAndGet();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
