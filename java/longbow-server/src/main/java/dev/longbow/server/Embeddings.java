package dev.longbow.server;

import com.sun.net.httpserver.HttpExchange;
import dev.longbow.api.Embedding;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /v1/embeddings}: for each input string, the mean of the model's final-norm hidden states over its
 * tokens (BOS included), scaled to unit length ({@link dev.longbow.api.Model#embed}). {@code encoding_format}
 * "float" gives numbers, "base64" the little-endian float32 bytes (what the official SDKs ask for by default).
 */
final class Embeddings {
    /** A bound on inputs per request, as OpenAI has (2048): each one is a forward pass. */
    static final int MAX_INPUTS = 2048;

    private Embeddings() {}

    static int handle(HttpExchange ex, RequestBody b, Serving s) throws Exception {
        s.checkModel(b);
        List<String> inputs = inputs(b.raw("input"));
        String format = b.string("encoding_format");
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw ApiError.badRequest("encoding_format must be \"float\" or \"base64\", got \"" + format + "\"", "encoding_format");
        }
        Long dimensions = b.integer("dimensions", 1, Integer.MAX_VALUE);
        int dim = s.model.config().dim();
        if (dimensions != null && dimensions != dim) {
            throw ApiError.unsupported("dimensions", "dimensions other than the model's " + dim);
        }
        b.ignore("user");
        b.rejectUnread();
        List<Embedding> out = s.inSlot(null, () -> {
            List<Embedding> list = new ArrayList<>();
            for (String text : inputs) list.add(s.model.embed(text, true));
            return list;
        });
        List<Object> data = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < out.size(); i++) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("object", "embedding");
            d.put("index", i);
            d.put("embedding", "base64".equals(format) ? base64(out.get(i).vector()) : out.get(i).vector());
            data.add(d);
            tokens += out.get(i).tokens();
        }
        s.metrics.promptTokens.add(tokens);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("object", "list");
        body.put("data", data);
        body.put("model", s.modelId);
        body.put("usage", Map.of("prompt_tokens", tokens, "total_tokens", tokens));
        Exchanges.json(ex, 200, body);
        return 200;
    }

    private static List<String> inputs(Object v) {
        if (v == null) throw ApiError.badRequest("input is required: a string or a list of strings", "input");
        List<String> out = new ArrayList<>();
        if (v instanceof String str) {
            out.add(str);
        } else if (v instanceof List<?> list && !list.isEmpty()) {
            if (list.size() > MAX_INPUTS) throw ApiError.badRequest("input has " + list.size() + " items; at most " + MAX_INPUTS + " are allowed", "input");
            for (Object o : list) {
                if (o instanceof Number || o instanceof List) throw ApiError.unsupported("input", "input of token ids");
                if (!(o instanceof String str)) throw ApiError.badRequest("input must be a string or a list of strings", "input");
                out.add(str);
            }
        } else {
            throw ApiError.badRequest("input must be a string or a non-empty list of strings", "input");
        }
        for (String str : out) if (str.isEmpty()) throw ApiError.badRequest("input must not contain empty strings", "input");
        return out;
    }

    private static String base64(float[] v) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) buf.putFloat(f);
        return Base64.getEncoder().encodeToString(buf.array());
    }
}
