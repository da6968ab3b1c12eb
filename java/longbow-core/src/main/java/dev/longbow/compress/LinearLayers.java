package dev.longbow.compress;

import dev.longbow.LongbowException;
import dev.longbow.format.ModelFile;
import dev.longbow.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The linear layers compression works on, in the order the forward pass runs them: per block the attention
 * projections (wq, wk, wv, wo) and the feed-forward ones (w1 gate, w3 up, w2 down), then the classifier when it is
 * its own tensor (a classifier tied to the embedding stays as it is: its rows are also the token embeddings).
 */
public final class LinearLayers {
    private LinearLayers() {}

    public static final List<String> BLOCK_KINDS = List.of("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down");
    public static final String CLASSIFIER = "output.weight";

    public static List<String> names(ModelFile f) {
        List<String> out = new ArrayList<>();
        for (int l = 0; l < f.config().layers(); l++) for (String k : BLOCK_KINDS) out.add(name(l, k));
        if (f.tensors().containsKey(CLASSIFIER)) out.add(CLASSIFIER);
        return out;
    }

    public static String name(int block, String kind) {
        return "blk." + block + "." + kind + ".weight";
    }

    /** "attn_q", ..., or "output" for the classifier. */
    public static String kind(String name) {
        if (name.equals(CLASSIFIER)) return "output";
        String rest = name.substring(name.indexOf('.', 4) + 1);
        return rest.substring(0, rest.length() - ".weight".length());
    }

    /** The block a layer belongs to; the classifier counts as one past the last. */
    public static int block(String name, int layers) {
        return name.equals(CLASSIFIER) ? layers : Integer.parseInt(name.substring(4, name.indexOf('.', 4)));
    }

    public static boolean attention(String name) {
        return kind(name).startsWith("attn_");
    }

    /** The weights of a layer as floats, row-major; the tensor must be a matrix. */
    public static float[] values(ModelFile f, String name) {
        Tensor t = f.tensor(name);
        if (t == null) throw new LongbowException(f.path() + ": missing tensor " + name);
        return t.toFloatArray();
    }
}
