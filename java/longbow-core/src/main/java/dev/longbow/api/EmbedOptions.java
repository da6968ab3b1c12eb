package dev.longbow.api;

/**
 * How {@link Model#embed(java.util.List, EmbedOptions)} turns a text's final-norm hidden states into one vector:
 * {@code pooling} MEAN averages every token's, LAST_TOKEN takes the last token's (the one that has attended to all
 * the others, as decoder embedding models are trained to use); {@code normalize} scales the result to unit length;
 * {@code addBos} puts the vocabulary's BOS token first.
 */
public record EmbedOptions(Pooling pooling, boolean normalize, boolean addBos) {
    public enum Pooling { MEAN, LAST_TOKEN }

    /** Mean pooling, normalized, with BOS. */
    public static final EmbedOptions DEFAULT = new EmbedOptions(Pooling.MEAN, true, true);

    public EmbedOptions {
        if (pooling == null) pooling = Pooling.MEAN;
    }

    public EmbedOptions withPooling(Pooling p) {
        return new EmbedOptions(p, normalize, addBos);
    }

    public EmbedOptions withNormalize(boolean n) {
        return new EmbedOptions(pooling, n, addBos);
    }

    public EmbedOptions withAddBos(boolean bos) {
        return new EmbedOptions(pooling, normalize, bos);
    }
}
