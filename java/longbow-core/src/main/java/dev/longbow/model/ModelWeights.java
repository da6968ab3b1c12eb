package dev.longbow.model;

import dev.longbow.LongbowException;
import dev.longbow.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The tensors the forward pass uses, found by GGUF name and checked against the configuration's shapes.
 * Biases are null for architectures without them; {@code output} is the embedding when the two are tied.
 */
public record ModelWeights(Tensor tokenEmbedding, List<Layer> layers, Tensor outputNorm, Tensor output, Tensor ropeFreqs) {

    public record Layer(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                        Tensor bq, Tensor bk, Tensor bv,
                        Tensor ffnNorm, Tensor wGate, Tensor wUp, Tensor wDown) {}

    public static ModelWeights bind(ModelConfig c, Map<String, Tensor> t, String file) {
        Binder b = new Binder(t, file);
        int dim = c.dim(), q = c.qDim(), kv = c.kvDim(), hidden = c.hiddenDim();
        Tensor emb = b.req("token_embd.weight", c.vocabSize(), dim);
        List<Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            layers.add(new Layer(
                    b.req(p + "attn_norm.weight", dim),
                    b.req(p + "attn_q.weight", q, dim), b.req(p + "attn_k.weight", kv, dim), b.req(p + "attn_v.weight", kv, dim),
                    b.req(p + "attn_output.weight", dim, q),
                    b.opt(p + "attn_q.bias", q), b.opt(p + "attn_k.bias", kv), b.opt(p + "attn_v.bias", kv),
                    b.req(p + "ffn_norm.weight", dim),
                    b.req(p + "ffn_gate.weight", hidden, dim), b.req(p + "ffn_up.weight", hidden, dim),
                    b.req(p + "ffn_down.weight", dim, hidden)));
        }
        Tensor norm = b.req("output_norm.weight", dim);
        Tensor out = t.containsKey("output.weight") ? b.req("output.weight", c.vocabSize(), dim) : emb;
        Tensor ropeFreqs = b.opt("rope_freqs.weight", c.headDim() / 2);
        return new ModelWeights(emb, layers, norm, out, ropeFreqs);
    }

    private record Binder(Map<String, Tensor> tensors, String file) {
        Tensor req(String name, long... shape) {
            Tensor t = tensors.get(name);
            if (t == null) throw new LongbowException(file + ": missing tensor " + name);
            return check(t, shape);
        }

        Tensor opt(String name, long... shape) {
            Tensor t = tensors.get(name);
            return t == null ? null : check(t, shape);
        }

        private Tensor check(Tensor t, long[] shape) {
            long[] s = t.shape();
            // A vector may be stored as {n} or {1, n}.
            long[] squeezed = s.length == 2 && s[0] == 1 && shape.length == 1 ? new long[]{s[1]} : s;
            if (!Arrays.equals(squeezed, shape)) {
                throw new LongbowException(file + ": tensor " + t.name() + " has shape " + Arrays.toString(s) + ", expected " + Arrays.toString(shape));
            }
            if (shape.length == 1 && t.type() != dev.longbow.tensor.WeightType.F32 && t.type() != dev.longbow.tensor.WeightType.F16
                    && t.type() != dev.longbow.tensor.WeightType.BF16) {
                throw new LongbowException(file + ": vector " + t.name() + " has block-quantized type " + t.type());
            }
            return t;
        }
    }
}
