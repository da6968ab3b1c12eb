package dev.longbow.engine;

import dev.longbow.LongbowException;
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
    private final PriorityQueue<Queued> waiting = new PriorityQueue<>(
            Comparator.comparingInt((Queued q) -> -q.sequence().request.priority()).thenComparingLong(Queued::arrival));
    private long arrivals;

    private record Queued(ScheduledSequence sequence, long arrival) {}
    private boolean closed;
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
    private volatile long decodeSteps, decodedRows;

    /** The batch's shape so far: its limit, the rows of the last decode step, and decode steps and rows in total. */
    public record Stats(int maxBatch, int lastStepRows, long decodeSteps, long decodedRows) {}

    public BatchScheduler(Transformer model, Ops ops, Tokenizer tokenizer, int contextLength, int maxBatch) {
        if (maxBatch < 1) throw new LongbowException("the batch must hold at least 1 sequence, got " + maxBatch);
        this.model = model;
        this.ops = ops;
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.maxBatch = maxBatch;
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

    /** The most sequences one decode step has run so far. */
    public Stats stats() {
        return new Stats(maxBatch, lastStepRows, decodeSteps, decodedRows);
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
                waiting.add(new Queued(seq, arrivals++));
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
    }

    /** Moves waiting requests into the batch while there is room, first waiting for work if none runs; false once closed. */
    private boolean admit() {
        List<ScheduledSequence> admitted = new ArrayList<>();
        lock.lock();
        try {
            while (running.isEmpty() && waiting.isEmpty() && !closed) work.awaitUninterruptibly();
            if (closed) return false;
            while (running.size() + admitted.size() < maxBatch && !waiting.isEmpty()) admitted.add(waiting.poll().sequence());
        } finally {
            lock.unlock();
        }
        for (ScheduledSequence s : admitted) {
            try {
                s.start(model, ops, tokenizer, contextLength);
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
        // At most one prefill chunk between two decode steps, oldest request first.
        for (ScheduledSequence s : running) {
            if (s.prefilling()) {
                oneSequence(s, () -> s.prefillChunk(ops));
                break;
            }
        }
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
            dropped = new ArrayList<>();
            for (Queued q : waiting) dropped.add(q.sequence());
            waiting.clear();
            work.signal();
        } finally {
            lock.unlock();
        }
        for (ScheduledSequence s : dropped) s.fail(new LongbowException("the batch scheduler was closed before this request ran"));
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
