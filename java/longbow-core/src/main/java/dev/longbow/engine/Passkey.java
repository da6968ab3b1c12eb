package dev.longbow.engine;

import dev.longbow.LongbowException;
import dev.longbow.backend.Ops;
import dev.longbow.model.Transformer;
import dev.longbow.tokenizer.TokenDecoder;
import dev.longbow.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Needle in a haystack, as the passkey-retrieval test of the position-interpolation papers runs it: repeated filler
 * sentences with "The pass key is K. Remember it. K is the pass key." at a relative depth, ending with "What is the
 * pass key? The pass key is". Scored by teacher forcing: given the correct prefix, is each token of the key the
 * model's greedy choice? A trial passes when all of them are.
 */
public final class Passkey {
    /** Simple sentences any English model, TinyStories' included, has seen the like of. */
    static final String[] FILLER = {"The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.", "There and back again."};
    static final String QUESTION = "What is the pass key? The pass key is";

    /** One trial's tokens: the prompt, then the key from {@code keyStart} on. */
    record Sequence(int[] tokens, int keyStart) {
        int keyTokens() {
            return tokens.length - keyStart;
        }
    }

    public record Trial(double depth, String key, int promptTokens, int keyTokens, int correctTokens) {
        public boolean passed() {
            return correctTokens == keyTokens;
        }
    }

    /** Fraction of trials passed, and of key tokens predicted, at one depth. */
    public record Depth(double depth, int trials, double accuracy, double tokenAccuracy, double meanPromptTokens) {}

    public record Result(int ctx, int trials, long seed, List<Depth> depths, List<Trial> runs, double accuracy,
                         double tokenAccuracy, double meanPromptTokens, long forwardTokens, long nanos, long kvBytes) {
        public double tokensPerSecond() {
            return nanos == 0 ? 0 : forwardTokens * 1e9 / nanos;
        }
    }

    private Passkey() {}

    /** The haystack: {@code fillers} filler sentences with the needle after round(depth * fillers) of them, then the question. */
    static String prompt(int fillers, double depth, String key) {
        int at = (int) Math.round(depth * fillers);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i <= fillers; i++) {
            if (i == at) sb.append("The pass key is ").append(key).append(". Remember it. ").append(key).append(" is the pass key. ");
            if (i < fillers) sb.append(FILLER[i % FILLER.length]).append(' ');
        }
        return sb.append(QUESTION).toString();
    }

    /**
     * The prompt with the most filler that keeps prompt and key within {@code ctx} tokens, found by bisection on the
     * number of filler sentences (token counts, not characters, are what fill a context).
     */
    static Sequence build(Tokenizer tokenizer, int ctx, double depth, String key) {
        Sequence fewest = sequence(tokenizer, 0, depth, key);
        if (fewest.tokens().length > ctx) {
            throw new LongbowException("a context of " + ctx + " tokens cannot hold the passkey prompt (" + fewest.tokens().length + " tokens without filler)");
        }
        int lo = 0, hi = ctx; // every sentence is at least one token, so ctx sentences overflow
        Sequence best = fewest;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            Sequence s = sequence(tokenizer, mid, depth, key);
            if (s.tokens().length <= ctx) {
                lo = mid;
                best = s;
            } else {
                hi = mid - 1;
            }
        }
        return best;
    }

    /**
     * The tokens of prompt + " " + key. The key's tokens are those after the prompt's own tokenization, less any
     * leading whitespace-only token (SentencePiece's lone "▁"), which stays with the prompt: the key is the digits.
     */
    static Sequence sequence(Tokenizer tokenizer, int fillers, double depth, String key) {
        String prompt = prompt(fillers, depth, key);
        int[] full = tokenizer.encode(prompt + " " + key, true);
        int[] head = tokenizer.encode(prompt, true);
        int common = 0;
        while (common < head.length && common < full.length && head[common] == full[common]) common++;
        TokenDecoder decoder = tokenizer.decoder();
        for (int i = 0; i < common; i++) decoder.next(full[i]);
        int keyStart = common;
        while (keyStart < full.length && decoder.next(full[keyStart]).isBlank()) keyStart++;
        if (keyStart == full.length) throw new LongbowException("the pass key '" + key + "' tokenizes to nothing after the prompt");
        if (keyStart == 0) throw new LongbowException("the passkey prompt tokenizes to nothing");
        return new Sequence(full, keyStart);
    }

    /** How many of {@code targets} are the argmax of the logits that predict them ({@code predictions[j]} for targets[j]). */
    public static int correct(float[][] predictions, int[] targets) {
        if (predictions.length < targets.length) throw new IllegalArgumentException(predictions.length + " predictions for " + targets.length + " targets");
        int ok = 0;
        for (int j = 0; j < targets.length; j++) if (Sampler.argmax(predictions[j]) == targets[j]) ok++;
        return ok;
    }

    /**
     * Runs the sequence through the model as one fresh sequence and counts the key tokens that are the argmax of the
     * logits predicting them. {@code part}, {@code rows} and {@code last} are scratch of the state's chunk size.
     */
    static int teacherForced(Transformer model, Ops ops, Transformer.State s, Sequence seq, int[] part, float[][] rows, float[] last) {
        int[] tokens = seq.tokens();
        int keyStart = seq.keyStart(), chunk = part.length;
        // The last key token is only ever a target; everything before it is input.
        int length = tokens.length - 1;
        float[][] predictions = new float[seq.keyTokens()][];
        model.prepare(s, length);
        for (int pos = 0; pos < length; pos += chunk) {
            int n = Math.min(chunk, length - pos);
            System.arraycopy(tokens, pos, part, 0, n);
            // Row r predicts tokens[pos + r + 1]; the key's predictions are rows keyStart - 1 - pos onward.
            if (pos + n < keyStart) {
                model.forward(ops, s, part, n, pos, last);
            } else {
                model.forward(ops, s, part, n, pos, rows);
                for (int r = Math.max(0, keyStart - 1 - pos); r < n; r++) predictions[pos + r + 1 - keyStart] = rows[r].clone();
            }
        }
        return correct(predictions, Arrays.copyOfRange(tokens, keyStart, tokens.length));
    }

    /**
     * {@code trials} trials at each depth (0 = needle first, 1 = just before the question) in prompts of about
     * {@code ctx} tokens, keys drawn as 5-digit numbers from {@code seed}.
     */
    public static Result run(Transformer model, Ops ops, Tokenizer tokenizer, int ctx, double[] depths, int trials, long seed) {
        if (depths.length == 0) throw new LongbowException("passkey needs at least one depth");
        for (double d : depths) if (!(d >= 0 && d <= 1)) throw new LongbowException("passkey depths must be between 0 and 1, got " + d);
        if (trials < 1) throw new LongbowException("passkey needs at least 1 trial per depth, got " + trials);
        long start = System.nanoTime(), forwardTokens = 0;
        SplittableRandom random = new SplittableRandom(seed);
        int vocab = model.config().vocabSize();
        int chunk = Math.min(model.options().prefillChunk(), ctx);
        List<Trial> runs = new ArrayList<>();
        List<Depth> perDepth = new ArrayList<>();
        long kvBytes;
        try (Transformer.State s = model.newState(ops, ctx, chunk)) {
            kvBytes = s.cache().reservedBytes();
            int[] part = new int[chunk];
            float[][] rows = new float[chunk][vocab];
            float[] last = new float[vocab];
            for (double depth : depths) {
                int passed = 0, tokensRight = 0, tokensAll = 0;
                long promptTokens = 0;
                for (int trial = 0; trial < trials; trial++) {
                    String key = Integer.toString(10000 + random.nextInt(90000));
                    Sequence seq = build(tokenizer, ctx, depth, key);
                    int right = teacherForced(model, ops, s, seq, part, rows, last);
                    forwardTokens += seq.tokens().length - 1;
                    int keyStart = seq.keyStart(), keyTokens = seq.keyTokens();
                    Trial t = new Trial(depth, key, keyStart, keyTokens, right);
                    runs.add(t);
                    if (t.passed()) passed++;
                    tokensRight += right;
                    tokensAll += keyTokens;
                    promptTokens += keyStart;
                }
                perDepth.add(new Depth(depth, trials, (double) passed / trials, (double) tokensRight / tokensAll, (double) promptTokens / trials));
            }
        }
        double accuracy = 0, tokenAccuracy = 0, prompt = 0;
        for (Depth d : perDepth) {
            accuracy += d.accuracy() / perDepth.size();
            tokenAccuracy += d.tokenAccuracy() / perDepth.size();
            prompt += d.meanPromptTokens() / perDepth.size();
        }
        return new Result(ctx, trials, seed, List.copyOf(perDepth), List.copyOf(runs), accuracy, tokenAccuracy, prompt,
                forwardTokens, System.nanoTime() - start, kvBytes);
    }
}
