package dev.longbow.server;

import dev.longbow.LongbowException;
import dev.longbow.api.Model;
import dev.longbow.format.GgufValue;
import dev.longbow.format.GgufVocab;
import dev.longbow.format.ModelFile;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Finds a model's chat template where its publishers put it, first found wins: a file given with
 * {@code --chat-template}; GGUF metadata {@code tokenizer.chat_template} (of the model, or of a GGUF vocabulary given
 * as its tokenizer); in a Hugging Face folder (the tokenizer's, then for a non-GGUF model its own)
 * {@code chat_template.jinja}, else {@code tokenizer_config.json}'s {@code chat_template} (a string, or a list of
 * named templates of which "default" is taken). None: {@link ChatTemplate#PLAIN}.
 *
 * <p>{@code bos_token} and {@code eos_token} are tokenizer_config.json's when the template came from that folder, else
 * the vocabulary's own entries for the BOS and EOS ids.
 */
final class ChatTemplates {
    static final long MAX_BYTES = 16L << 20;

    private ChatTemplates() {}

    static ChatTemplate find(Model model, Path modelPath, Path tokenizerPath, Path override) {
        Tokenizer tok = model.tokenizer();
        String bos = tok.bos() >= 0 ? tok.piece(tok.bos()) : "", eos = tok.eos() >= 0 ? tok.piece(tok.eos()) : "";
        if (override != null) {
            if (!Files.isRegularFile(override)) throw new LongbowException(override + ": no such chat template file");
            Folder f = folder(tokenizerPath != null ? tokenizerPath : modelPath);
            return ChatTemplate.of(read(override), f != null && f.hasTokens ? f.bos : bos, f != null && f.hasTokens ? f.eos : eos, override.toString());
        }
        String fromGguf = ggufTemplate(model.metadata());
        if (fromGguf != null) return ChatTemplate.of(fromGguf, bos, eos, modelPath + " (GGUF tokenizer.chat_template)");
        if (tokenizerPath != null && Files.isRegularFile(tokenizerPath) && isGguf(tokenizerPath)) {
            try (ModelFile vocab = GgufVocab.open(tokenizerPath)) {
                String t = ggufTemplate(vocab.metadata());
                if (t != null) return ChatTemplate.of(t, bos, eos, tokenizerPath + " (GGUF tokenizer.chat_template)");
            }
        }
        boolean gguf = Files.isRegularFile(modelPath) && isGguf(modelPath);
        for (Path p : gguf ? new Path[]{tokenizerPath} : new Path[]{tokenizerPath, modelPath}) {
            Folder f = p == null ? null : folder(p);
            if (f != null && f.template != null) {
                return ChatTemplate.of(f.template, f.hasTokens ? f.bos : bos, f.hasTokens ? f.eos : eos, f.origin);
            }
        }
        return ChatTemplate.PLAIN;
    }

    /** What a Hugging Face folder says: its template (or null) and its BOS/EOS spellings. */
    private record Folder(String template, String origin, boolean hasTokens, String bos, String eos) {}

    /** The folder {@code p} is, or holds {@code p}; null when it has neither chat_template.jinja nor tokenizer_config.json. */
    private static Folder folder(Path p) {
        Path dir = Files.isDirectory(p) ? p : p.toAbsolutePath().getParent();
        if (dir == null) return null;
        Path jinja = dir.resolve("chat_template.jinja"), config = dir.resolve("tokenizer_config.json");
        Map<String, Object> root = Files.isRegularFile(config) ? Json.parseObject(read(config), config.toString()) : null;
        String template = Files.isRegularFile(jinja) ? read(jinja) : root != null ? configTemplate(root.get("chat_template"), config) : null;
        String origin = Files.isRegularFile(jinja) ? jinja.toString() : config + " (chat_template)";
        if (root == null) return template == null ? null : new Folder(template, origin, false, null, null);
        return new Folder(template, origin, true, spelling(root.get("bos_token")), spelling(root.get("eos_token")));
    }

    private static String configTemplate(Object v, Path config) {
        if (v == null || v instanceof String) return (String) v;
        if (v instanceof List<?> named) {
            for (Object o : named) {
                if (o instanceof Map<?, ?> m && "default".equals(m.get("name")) && m.get("template") instanceof String t) return t;
            }
            throw new LongbowException(config + ": chat_template lists named templates but none called \"default\"; give one with --chat-template FILE");
        }
        throw new LongbowException(config + ": chat_template is neither a string nor a list of named templates");
    }

    /** bos_token / eos_token: a string, an AddedToken object with "content", or null (none: ""). */
    private static String spelling(Object v) {
        if (v instanceof String s) return s;
        if (v instanceof Map<?, ?> m && m.get("content") instanceof String s) return s;
        return "";
    }

    private static String ggufTemplate(Map<String, GgufValue> metadata) {
        GgufValue v = metadata.get("tokenizer.chat_template");
        return v != null && v.type() == GgufValue.Type.STRING ? v.asString() : null;
    }

    private static boolean isGguf(Path p) {
        try (var in = Files.newInputStream(p)) {
            return java.util.Arrays.equals(in.readNBytes(4), "GGUF".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path p) {
        try {
            if (Files.size(p) > MAX_BYTES) throw new LongbowException(p + ": too large for a chat template or tokenizer config");
            return StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(p))).toString();
        } catch (CharacterCodingException e) {
            throw new LongbowException(p + ": not UTF-8 text");
        } catch (IOException e) {
            throw new LongbowException(p + ": cannot read: " + e.getMessage());
        }
    }
}
