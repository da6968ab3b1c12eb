package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The parts of a Hugging Face {@code tokenizer_config.json} a tokenizer needs: the added tokens it declares
 * ({@code added_tokens_decoder}), the BOS/EOS spellings, whether BOS is added, and the tokenizer class.
 */
record HfTokenizerConfig(List<BpeSpec.AddedToken> addedTokens, String bos, String eos, boolean addBos, String tokenizerClass) {
    static final long MAX_BYTES = 64L << 20;

    /** The config in {@code dir}, or null when there is none. */
    static HfTokenizerConfig beside(Path dir) {
        Path p = dir.resolve("tokenizer_config.json");
        return Files.isRegularFile(p) ? read(p) : null;
    }

    static HfTokenizerConfig read(Path path) {
        Map<String, Object> root = Json.parseObject(readText(path, MAX_BYTES), path.toString());
        List<BpeSpec.AddedToken> added = new ArrayList<>();
        if (root.get("added_tokens_decoder") instanceof Map<?, ?> decoder) {
            for (var e : decoder.entrySet()) {
                int id;
                try {
                    id = Integer.parseInt(String.valueOf(e.getKey()));
                } catch (NumberFormatException ex) {
                    throw new LongbowException(path + ": added_tokens_decoder key '" + e.getKey() + "' is not a token id");
                }
                if (!(e.getValue() instanceof Map<?, ?> t) || !(t.get("content") instanceof String content)) {
                    throw new LongbowException(path + ": added_tokens_decoder entry " + id + " has no content");
                }
                added.add(new BpeSpec.AddedToken(id, content, Boolean.TRUE.equals(t.get("special")),
                        Boolean.TRUE.equals(t.get("lstrip")), Boolean.TRUE.equals(t.get("rstrip"))));
            }
        } else if (root.containsKey("added_tokens_decoder")) {
            throw new LongbowException(path + ": added_tokens_decoder is not an object");
        }
        Object cls = root.get("tokenizer_class");
        return new HfTokenizerConfig(added, tokenSpelling(root.get("bos_token"), path, "bos_token"),
                tokenSpelling(root.get("eos_token"), path, "eos_token"), Boolean.TRUE.equals(root.get("add_bos_token")),
                cls instanceof String s ? s : null);
    }

    /** bos_token / eos_token: a string, an AddedToken object with content, or null. */
    private static String tokenSpelling(Object v, Path path, String key) {
        if (v == null || v instanceof String) return (String) v;
        if (v instanceof Map<?, ?> m && m.get("content") instanceof String s) return s;
        throw new LongbowException(path + ": " + key + " is neither a string nor an object with content");
    }

    static String readText(Path path, long maxBytes) {
        try {
            long size = Files.size(path);
            if (size > maxBytes) throw new LongbowException(path + ": " + size + " bytes is too large for a tokenizer file");
            byte[] b = Files.readAllBytes(path);
            var decoder = java.nio.charset.StandardCharsets.UTF_8.newDecoder();
            return decoder.decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new LongbowException(path + ": not UTF-8 text");
        } catch (IOException e) {
            throw new LongbowException(path + ": cannot read: " + e.getMessage());
        }
    }

    /** The lines of {@code text}, split at '\n' with a trailing '\r' dropped; line i is at index i - 1. */
    static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        for (int start = 0; start < text.length(); ) {
            int end = text.indexOf('\n', start);
            if (end < 0) end = text.length();
            int stop = end > start && text.charAt(end - 1) == '\r' ? end - 1 : end;
            lines.add(text.substring(start, stop));
            start = end + 1;
        }
        return lines;
    }
}
