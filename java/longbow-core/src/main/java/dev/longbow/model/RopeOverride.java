package dev.longbow.model;

import dev.longbow.LongbowException;

/**
 * RoPE scaling asked for on the command line or through the API, each field null when not given. Resolved against
 * the model's own scaling: a field not given keeps the model's value when the method is the same, else the
 * method's default; the factor defaults to the run's context over the trained context.
 */
public record RopeOverride(RopeScaling.Method method, Float factor, Integer originalContext, Float betaFast, Float betaSlow,
                           Float lowFreqFactor, Float highFreqFactor, float[] shortFactor, float[] longFactor,
                           Float elasticGamma, Float elasticK) {
    public static final RopeOverride NONE = new RopeOverride(null, null, null, null, null, null, null, null, null, null, null);

    public static RopeOverride method(RopeScaling.Method m) {
        return new RopeOverride(m, null, null, null, null, null, null, null, null, null, null);
    }

    public RopeOverride withFactor(float f) {
        return new RopeOverride(method, f, originalContext, betaFast, betaSlow, lowFreqFactor, highFreqFactor, shortFactor, longFactor, elasticGamma, elasticK);
    }

    public RopeOverride withOriginalContext(int n) {
        return new RopeOverride(method, factor, n, betaFast, betaSlow, lowFreqFactor, highFreqFactor, shortFactor, longFactor, elasticGamma, elasticK);
    }

    public RopeOverride withElastic(float gamma, float k) {
        return new RopeOverride(method, factor, originalContext, betaFast, betaSlow, lowFreqFactor, highFreqFactor, shortFactor, longFactor, gamma, k);
    }

    public boolean isEmpty() {
        return method == null && factor == null && originalContext == null && betaFast == null && betaSlow == null
                && lowFreqFactor == null && highFreqFactor == null && shortFactor == null && longFactor == null
                && elasticGamma == null && elasticK == null;
    }

    /**
     * The scaling to run with. {@code trainedContext} is the model's context length (the original context when
     * neither the override nor the model gives one); {@code runContext} the context the run asks for (0: none).
     */
    public RopeScaling resolve(RopeScaling model, int trainedContext, int runContext) {
        if (isEmpty()) return model;
        RopeScaling.Method m = method != null ? method : model.method();
        if (m == RopeScaling.Method.NONE) {
            if (method == null) throw new LongbowException("rope scaling options need --rope-scaling: the model has none");
            return RopeScaling.NONE;
        }
        boolean same = m == model.method();
        int trained = originalContext != null ? originalContext
                : same && model.originalContext() > 0 ? model.originalContext() : trainedContext;
        boolean staticFactor = m == RopeScaling.Method.LINEAR || m == RopeScaling.Method.NTK;
        float f = factor != null ? factor : same && method == null ? model.factor() : Float.NaN;
        if (trained <= 0 && !staticFactor) throw new LongbowException("rope scaling '" + m.key() + "' needs the trained context (--rope-original-ctx)");
        if (Float.isNaN(f)) f = defaultFactor(m, trained, runContext);
        return switch (m) {
            case NONE -> RopeScaling.NONE;
            case LINEAR -> RopeScaling.linear(f);
            case NTK -> RopeScaling.ntk(f);
            case DYNAMIC -> RopeScaling.dynamic(f, trained);
            case YARN -> RopeScaling.yarn(f, trained, pick(betaFast, same, model.betaFast(), RopeScaling.DEFAULT_BETA_FAST),
                    pick(betaSlow, same, model.betaSlow(), RopeScaling.DEFAULT_BETA_SLOW), !same || model.truncate(),
                    same && factor == null ? model.attentionFactor() : Float.NaN, same ? model.mscale() : 0, same ? model.mscaleAllDim() : 0);
            case LLAMA3 -> RopeScaling.llama3(f, pick(lowFreqFactor, same, model.lowFreqFactor(), 1),
                    pick(highFreqFactor, same, model.highFreqFactor(), 4), trained);
            case LONGROPE -> {
                float[] sf = shortFactor != null ? shortFactor : same ? model.shortFactor() : null;
                float[] lf = longFactor != null ? longFactor : same ? model.longFactor() : null;
                if (sf == null || lf == null) throw new LongbowException("rope scaling 'longrope' needs --rope-short-factor and --rope-long-factor");
                float lrFactor = factor != null ? factor : Math.max(1f, (float) Math.max(runContext, trained) / trained);
                yield RopeScaling.longrope(sf, lf, lrFactor, trained, same && factor == null ? model.attentionFactor() : Float.NaN);
            }
            case ELASTIC -> RopeScaling.elastic(pick(elasticGamma, same, model.elasticGamma(), RopeScaling.DEFAULT_ELASTIC_GAMMA),
                    pick(elasticK, same, model.elasticK(), RopeScaling.DEFAULT_ELASTIC_K), trained);
        };
    }

    private static float pick(Float given, boolean same, float model, float dflt) {
        return given != null ? given : same ? model : dflt;
    }

    /**
     * Stretch to the run's context; a static method with nothing to stretch to is a mistake worth naming. Dynamic NTK
     * already follows the sequence length, so its factor (how much faster than that the base grows) defaults to 1:
     * with factor ctx/L the base at length ctx would grow as if for (ctx/L)^2 - ctx/L + 1 times the context.
     */
    private static float defaultFactor(RopeScaling.Method m, int trained, int runContext) {
        if (m == RopeScaling.Method.DYNAMIC || m == RopeScaling.Method.ELASTIC) return 1f;
        if (trained > 0 && runContext > trained) return (float) runContext / trained;
        if (m == RopeScaling.Method.LONGROPE) return 1f;
        throw new LongbowException("rope scaling '" + m.key() + "' needs --rope-factor, or a --ctx beyond the trained context" + (trained > 0 ? " of " + trained : ""));
    }
}
