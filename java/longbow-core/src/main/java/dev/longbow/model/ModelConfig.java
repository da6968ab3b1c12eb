package dev.longbow.model;

/**
 * The hyper-parameters of a Llama-family decoder. {@code architecture} is GGUF's name ("llama", "qwen2"; Mistral
 * is "llama" with a sliding window). {@code slidingWindow} 0 means full causal attention.
 */
public record ModelConfig(
        String architecture,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int vocabSize,
        int contextLength,
        float normEps,
        float ropeTheta,
        RotaryLayout rotaryLayout,
        RopeScaling ropeScaling,
        int slidingWindow) {

    public ModelConfig {
        if (ropeScaling == null) ropeScaling = RopeScaling.NONE;
    }

    public ModelConfig withRopeScaling(RopeScaling s) {
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength, normEps,
                ropeTheta, rotaryLayout, s, slidingWindow);
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    public int qDim() {
        return heads * headDim;
    }

    /** Rejects shapes no real model has before anything is sized from them. */
    public void validate(String file) {
        check(dim > 0 && dim <= 1 << 16, file, "embedding size " + dim);
        check(hiddenDim > 0 && hiddenDim <= 1 << 18, file, "feed-forward size " + hiddenDim);
        check(layers > 0 && layers <= 1024, file, "layer count " + layers);
        check(heads > 0 && heads <= 1024, file, "head count " + heads);
        check(kvHeads > 0 && kvHeads <= heads && heads % kvHeads == 0, file, "key/value head count " + kvHeads + " for " + heads + " heads");
        check(headDim > 0 && headDim % 2 == 0 && headDim <= 1024, file, "head size " + headDim);
        check(vocabSize > 0 && vocabSize <= 1 << 22, file, "vocabulary size " + vocabSize);
        check(contextLength > 0 && contextLength <= 1 << 24, file, "context length " + contextLength);
        check(normEps > 0 && normEps < 1, file, "norm epsilon " + normEps);
        check(ropeTheta > 1, file, "rope base " + ropeTheta);
        check(slidingWindow >= 0, file, "sliding window " + slidingWindow);
    }

    private static void check(boolean ok, String file, String what) {
        if (!ok) throw new dev.longbow.LongbowException(file + ": implausible " + what);
    }
}
