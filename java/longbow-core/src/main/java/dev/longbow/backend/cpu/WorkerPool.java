package dev.longbow.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Threads started once and reused for every operation of every token. The caller publishes a job; every thread, the
 * caller's included, works through its own contiguous share of the task indices in chunks claimed from that share's
 * counter, then claims chunks left in the other shares, and the caller returns when all tasks are done. On an idle
 * machine each thread claims only from its own counter (no cache line goes back and forth, the same rows every
 * token); on a busy one, when the operating system deschedules a worker (another process, a CPU quota), the others
 * take the rest of its share instead of waiting for it: with fixed shares, one descheduled vCPU made two threads
 * slower than one. Nothing is allocated per job. Idle workers
 * spin briefly (the next matmul usually follows within microseconds), then park so an idle engine costs no CPU. Jobs
 * run one at a time; callers on several threads take turns.
 * <p>
 * A worker that wakes late must not run a later job's tasks with an earlier job's claims: it announces itself
 * ({@code inside}) and then checks that the job it woke for is still open; the caller closes the job before it waits
 * for the workers inside to leave. Both sides use volatile and atomic accesses, so one of them sees the other.
 */
final class WorkerPool implements AutoCloseable {
    /** About 20-50 microseconds of spinning before a worker parks. */
    private static final int SPIN_LIMIT = 20_000;
    /** Chunks per share: few enough claims to cost nothing, enough for the others to cover a slow thread. */
    private static final int CHUNKS_PER_SHARE = 4;
    /** Ints between two shares' counters: one counter per 64-byte cache line and more, so claims do not contend. */
    private static final int PAD = 32;

    private final Thread[] workers;
    /** Per share s: the next unclaimed task at [s * PAD], the share's end at [s * PAD + 1]. */
    private final java.util.concurrent.atomic.AtomicIntegerArray shares;
    private final AtomicInteger doneTasks = new AtomicInteger(), inside = new AtomicInteger();
    private volatile IntConsumer job;
    private volatile int chunk;
    private volatile int generation;
    /** The generation workers may still join, or -1 once its caller stopped waiting for newcomers. */
    private volatile int open = -1;
    private volatile boolean closed;
    private volatile Throwable failure;

    WorkerPool(int threads) {
        workers = new Thread[Math.max(0, threads - 1)];
        shares = new java.util.concurrent.atomic.AtomicIntegerArray((workers.length + 1) * PAD);
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
        int threads = threads();
        this.chunk = Math.max(1, tasks / (threads * CHUNKS_PER_SHARE));
        this.failure = null;
        for (int s = 0; s < threads; s++) {
            shares.set(s * PAD, (int) ((long) tasks * s / threads));
            shares.set(s * PAD + 1, (int) ((long) tasks * (s + 1) / threads));
        }
        doneTasks.set(0);
        int g = generation + 1;
        open = g;
        generation = g; // the volatile write that publishes the fields above to the workers
        for (Thread w : workers) LockSupport.unpark(w);
        claimTasks(0);
        while (doneTasks.get() < tasks) Thread.onSpinWait();
        open = -1;
        while (inside.get() > 0) Thread.onSpinWait(); // a worker that joined late finds nothing left and leaves
        this.job = null;
        Throwable f = failure;
        if (f instanceof RuntimeException r) throw r;
        if (f instanceof Error e) throw e;
        if (f != null) throw new IllegalStateException(f);
    }

    /** Runs chunks of the open job's tasks, share {@code own} first, then what is left of the others. */
    private void claimTasks(int own) {
        IntConsumer work = job;
        int size = chunk, threads = threads();
        for (int k = 0; k < threads; k++) {
            int s = (own + k) % threads, end = shares.get(s * PAD + 1);
            while (true) {
                int from = shares.getAndAdd(s * PAD, size);
                if (from >= end) break;
                int to = Math.min(end, from + size);
                runRange(work, from, to);
                doneTasks.addAndGet(to - from);
            }
        }
    }

    /**
     * Kept apart from the claiming loop on purpose: with the range loop written inside it, the W8A8 decode kernels
     * allocated 3 MB a step (AllocationTest), as if their vectors no longer compiled to registers.
     */
    private void runRange(IntConsumer work, int from, int to) {
        try {
            for (int i = from; i < to; i++) work.accept(i);
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
            inside.incrementAndGet();
            if (open == seen) claimTasks(share);
            inside.decrementAndGet();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
