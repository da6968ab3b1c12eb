package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvBlockPool;
import dev.longbow.backend.Ops;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Continuous batching: one thread runs every submitted generation, decoding all running sequences in one
 * {@link Transformer#forwardBatch} step, so each weight matrix is read once per step for all of them instead of
 * once per sequence. Requests join and leave at every step: each step admits waiting requests (highest
 * {@code priority} first, then in arrival order) up to
 * {@code maxBatch}, runs at most one prefill chunk (so running sequences wait at most one chunk between two of
 * their tokens), then one decode step for every sequence past its prefill, then samples each with its own sampler,
 * delivers the token and retires the finished ones (end of text, token budget, context, cancellation).
 * <p>
 * Memory: every sequence's cache takes its blocks from one {@link KvBlockPool} bounded by the KV memory budget. A
 * waiting request joins only when its tokens fit beside what the running ones still need; when a step's writes do
 * not fit, running sequences are preempted, lowest priority and latest arrival first: their blocks go back to the
 * pool (what they computed stays findable as a prefix) and they wait again, ahead of later arrivals, to be recomputed
 * (vLLM's recompute preemption). With prefix sharing, a request whose prompt begins with blocks another sequence
 * computed under the same rotary table holds those blocks instead of computing them again; a block two sequences
 * hold is copied before either writes into it.
 * <p>
 * Tokens and results are the same as {@link Generation#run} gives (greedy: identical tokens; the batch rounds its
 * matmuls differently in the last float bits). Sinks are called on the scheduler thread: a slow sink delays every
 * running sequence.
 */
public final class BatchScheduler implements AutoCloseable {
    /**
     * One generation: as {@link Generation#run}'s arguments. {@code cancelled} is polled before each step of this
     * sequence; the result then has stop reason CANCELLED.
     */
    public record Request(int[] prompt, SamplerParams sampling, int maxTokens, boolean echoPrompt, int topLogprobs,
                          Generation.Sink sink, BooleanSupplier cancelled, int priority) {
        public Request(int[] prompt, SamplerParams sampling, int maxTokens, boolean echoPrompt, int topLogprobs,
                       Generation.Sink sink, BooleanSupplier cancelled) {
            this(prompt, sampling, maxTokens, echoPrompt, topLogprobs, sink, cancelled, 0);
        }
    }

    private final Transformer model;
    private final Ops ops;
    private final Tokenizer tokenizer;
    private final int contextLength, maxBatch;
    private final Transformer.BatchState batch;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    /** Higher priority first, then first come, first served. */
    private final PriorityQueue<ScheduledSequence> waiting = new PriorityQueue<>(
            Comparator.comparingInt((ScheduledSequence s) -> -s.request.priority()).thenComparingLong(s -> s.arrival));
    private long arrivals;
    private boolean closed;
    private final KvBlockPool pool;
    private final boolean sharePrefixes;
    private final List<ScheduledSequence> running = new ArrayList<>();
    private final Thread thread;
    // A decode step's arguments, reused.
    private final Transformer.State[] states;
    private final int[] stepTokens, stepPositions;
    private final float[][] stepLogits;
    private final ScheduledSequence[] stepSequences;
    private volatile int largestBatch;
    /** Written by the scheduler thread only; read by anyone (metrics), so volatile rather than atomic. */
    private volatile int lastStepRows;
    private volatile long decodeSteps, decodedRows, preemptions;
    /** The pool's counters after the last step: the pool itself belongs to the scheduler thread. */
    private volatile KvBlockPool.Stats kvStats;

    /**
     * The batch's shape so far: its limit, the rows of the last decode step, decode steps and rows in total,
     * sequences preempted for memory, and the KV pool's blocks and prefix-sharing counters.
     */
    public record Stats(int maxBatch, int lastStepRows, long decodeSteps, long decodedRows, long preemptions, KvBlockPool.Stats kv) {}

    /** A scheduler with the default KV memory budget ({@link #defaultKvMemory}) and prefix sharing on. */
    public BatchScheduler(Transformer model, Ops ops, Tokenizer tokenizer, int contextLength, int maxBatch) {
        this(model, ops, tokenizer, contextLength, maxBatch, 0, true);
    }

    /**
     * @param kvMemoryBytes the KV cache budget of all sequences together; 0 for {@link #defaultKvMemory}
     * @param sharePrefixes whether sequences share the cached blocks of identical prompt prefixes
     */
    public BatchScheduler(Transformer model, Ops ops, Tokenizer tokenizer, int contextLength, int maxBatch, long kvMemoryBytes, boolean sharePrefixes) {
        if (maxBatch < 1) throw new LongbowException("the batch must hold at least 1 sequence, got " + maxBatch);
        if (kvMemoryBytes < 0) throw new LongbowException("the KV memory budget must be positive, got " + kvMemoryBytes);
        this.model = model;
        this.ops = ops;
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.maxBatch = maxBatch;
        this.sharePrefixes = sharePrefixes;
        pool = model.newKvPool(ops, kvMemoryBytes > 0 ? kvMemoryBytes : defaultKvMemory(model, contextLength, maxBatch));
        kvStats = pool.stats();
        batch = model.newBatchState(ops, maxBatch);
        states = new Transformer.State[maxBatch];
        stepTokens = new int[maxBatch];
        stepPositions = new int[maxBatch];
        stepLogits = new float[maxBatch][];
        stepSequences = new ScheduledSequence[maxBatch];
        thread = new Thread(this::loop, "longbow-scheduler");
        thread.setDaemon(true);
        thread.start();
    }

    public int maxBatch() {
        return maxBatch;
    }

    /**
     * Enough for every place in the batch to hold a whole context (no preemption ever), but at most half of the
     * machine's memory: past that, sequences are preempted rather than the process killed. Memory is reserved as
     * blocks are first used, so a budget larger than the load costs nothing.
     */
    public static long defaultKvMemory(Transformer model, int contextLength, int maxBatch) {
        long whole = (long) maxBatch * contextLength * model.kvBytesPerPosition();
        return Math.max(1, Math.min(whole, dev.longbow.util.SystemMemory.TOTAL_BYTES / 2));
    }

    public Stats stats() {
        return new Stats(maxBatch, lastStepRows, decodeSteps, decodedRows, preemptions, kvStats);
    }

    public int largestBatch() {
        return largestBatch;
    }

    /**
     * Queues a generation. A request that cannot run (empty prompt, a prompt longer than the context, a negative
     * budget, a token outside the vocabulary) gets a result that fails with a {@link LongbowException} naming the
     * problem, and disturbs no other.
     */
    public CompletableFuture<Generation.Result> submit(Request request) {
        ScheduledSequence seq = new ScheduledSequence(request, model.config().vocabSize());
        LongbowException invalid = Generation.invalid(request, model, contextLength);
        if (invalid != null) {
            seq.fail(invalid);
            return seq.result;
        }
        lock.lock();
        try {
            if (closed) seq.fail(new LongbowException("the batch scheduler is closed"));
            else {
                seq.arrival = arrivals++;
                waiting.add(seq);
                work.signal();
            }
        } finally {
            lock.unlock();
        }
        return seq.result;
    }

    private void loop() {
        while (true) {
            if (!admit()) break;
            try {
                step();
            } catch (Throwable e) {
                // Not one request's problem (those fail alone inside step): nothing running can be trusted to go on.
                for (ScheduledSequence s : running) s.fail(e);
                running.clear();
            }
        }
        for (ScheduledSequence s : running) s.finish(StopReason.CANCELLED);
        running.clear();
        kvStats = pool.stats();
        pool.close();
    }

    /**
     * Moves waiting requests into the batch while there is room, in places and in KV memory, first waiting for work
     * if none runs; false once closed.
     */
    private boolean admit() {
        List<ScheduledSequence> admitted = new ArrayList<>();
        List<ScheduledSequence> tooLong = new ArrayList<>();
        lock.lock();
        try {
            while (running.isEmpty() && waiting.isEmpty() && !closed) work.awaitUninterruptibly();
            if (closed) return false;
            int free = pool.freeBlocks();
            for (ScheduledSequence s : running) free -= s.blocksAhead();
            while (running.size() + admitted.size() < maxBatch && !waiting.isEmpty()) {
                int need = waiting.peek().blocksToStart(pool.blockPositions());
                if (need > pool.capacityBlocks()) {
                    tooLong.add(waiting.poll());
                    continue;
                }
                if (need > free) break; // nothing running: every block is free, and need fits the capacity

                free -= need;
                admitted.add(waiting.poll());
            }
        } finally {
            lock.unlock();
        }
        for (ScheduledSequence s : tooLong) s.fail(new LongbowException(String.format(
                "the prompt needs %,d KV blocks of %d positions but the KV memory budget holds %,d; raise --kv-memory",
                s.blocksToStart(pool.blockPositions()), pool.blockPositions(), pool.capacityBlocks())));
        for (ScheduledSequence s : admitted) {
            try {
                if (s.started()) s.resume(ops);
                else s.start(model, ops, tokenizer, contextLength, pool, sharePrefixes);
                running.add(s);
            } catch (RuntimeException e) {
                s.fail(e);
            }
        }
        return true;
    }

    private void step() {
        for (ScheduledSequence s : running) {
            if (s.request.cancelled().getAsBoolean()) s.finish(StopReason.CANCELLED);
        }
        running.removeIf(ScheduledSequence::done);
        makeRoom();
        // At most one prefill chunk between two decode steps, oldest request first.
        ScheduledSequence prefill = firstPrefilling();
        if (prefill != null) oneSequence(prefill, () -> prefill.prefillChunk(ops));
        int b = 0;
        for (ScheduledSequence s : running) {
            if (!s.decoding()) continue;
            stepSequences[b] = s;
            states[b] = s.state();
            stepTokens[b] = s.pendingToken();
            stepPositions[b] = s.pendingPosition();
            stepLogits[b] = s.logits;
            b++;
        }
        if (b > largestBatch) largestBatch = b;
        lastStepRows = b;
        if (b > 0) {
            decodeSteps = decodeSteps + 1;
            decodedRows = decodedRows + b;
        }
        if (b > 0) {
            model.forwardBatch(ops, batch, states, stepTokens, stepPositions, b, stepLogits);
            for (int i = 0; i < b; i++) {
                ScheduledSequence s = stepSequences[i];
                oneSequence(s, s::afterLogits);
                stepSequences[i] = null;
                states[i] = null;
            }
        }
        running.removeIf(ScheduledSequence::done);
        kvStats = pool.stats();
    }

    private ScheduledSequence firstPrefilling() {
        for (ScheduledSequence s : running) if (s.prefilling()) return s;
        return null;
    }

    /**
     * Preempts running sequences, lowest priority and then latest arrival first, until what this step writes (the
     * first prefilling sequence's next chunk and every decoding sequence's next position) fits in the pool's free
     * blocks. A sequence left alone that still does not fit ends: decoding, as if its context were full; prefilling,
     * with an error naming the budget.
     */
    private void makeRoom() {
        while (!running.isEmpty()) {
            ScheduledSequence prefill = firstPrefilling();
            if (prefill != null) prefill.attachPrefix();
            int need = 0;
            for (ScheduledSequence s : running) if (s == prefill || s.decoding()) need += s.blocksForNextStep();
            if (need <= pool.freeBlocks()) return;
            ScheduledSequence victim = running.getFirst();
            for (ScheduledSequence s : running) {
                int p = s.request.priority(), v = victim.request.priority();
                if (p < v || (p == v && s.arrival > victim.arrival)) victim = s;
            }
            running.remove(victim);
            if (running.isEmpty()) {
                if (victim.decoding()) victim.finish(StopReason.CONTEXT_FULL);
                else victim.fail(new LongbowException(String.format(
                        "the sequence needs more KV blocks than the KV memory budget's %,d of %d positions; raise --kv-memory",
                        pool.capacityBlocks(), pool.blockPositions())));
                return;
            }
            victim.preempt();
            preemptions = preemptions + 1;
            lock.lock();
            try {
                waiting.add(victim);
            } finally {
                lock.unlock();
            }
        }
    }

    /** Runs one sequence's work; what goes wrong there (a sink that throws) ends that sequence only. */
    private static void oneSequence(ScheduledSequence s, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            s.fail(e);
        }
    }

    /** Stops the scheduler thread: running generations end as cancelled, waiting ones fail. */
    @Override
    public void close() {
        List<ScheduledSequence> dropped;
        lock.lock();
        try {
            if (closed) return;
            closed = true;
            dropped = new ArrayList<>(waiting);
            waiting.clear();
            work.signal();
        } finally {
            lock.unlock();
        }
        for (ScheduledSequence s : dropped) {
            // A preempted sequence has delivered tokens already: it ends as a cancelled running one does.
            if (s.started()) s.finish(StopReason.CANCELLED);
            else s.fail(new LongbowException("the batch scheduler was closed before this request ran"));
        }
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
