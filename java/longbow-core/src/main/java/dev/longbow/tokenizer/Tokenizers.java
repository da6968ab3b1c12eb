package dev.longbow.tokenizer;

import dev.longbow.LongbowException;
import dev.longbow.format.GgufValue;
import dev.longbow.format.ModelFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Finds and loads the tokenizer for a model, or one named by the user, working out its kind from the file. */
public final class Tokenizers {
    /** A llama2.c tokenizer.bin is kilobytes to a few megabytes; anything this big is another file given by mistake. */
    private static final long MAX_TOKENIZER_BIN = 1 << 28;

    private Tokenizers() {}

    /** The tokenizer that goes with {@code model}: the user's file if given, else GGUF metadata or a file beside it. */
    public static Tokenizer forModel(ModelFile model, Path explicit) {
        if (explicit != null) return load(explicit);
        if (model.format() == ModelFile.Format.GGUF) return fromGguf(model.metadata(), model.path().toString());
        Path dir = model.path().toAbsolutePath();
        if (!Files.isDirectory(dir)) dir = dir.getParent();
        List<Path> candidates = List.of(dir.resolve("tokenizer.bin"), dir.resolve("tok" + model.config().vocabSize() + ".bin"));
        for (Path p : candidates) if (Files.isRegularFile(p)) return load(p);
        Path found = inDirectory(dir);
        if (found != null) return load(found);
        throw new LongbowException(model.path() + ": no tokenizer found beside the model; pass --tokenizer FILE");
    }

    /**
     * The tokenizer file a folder holds, in the order Hugging Face prefers them: tokenizer.json, vocab.json with
     * merges.txt, tokenizer.model, tokenizer.bin; null when there is none.
     */
    static Path inDirectory(Path dir) {
        for (String name : List.of("tokenizer.json", "vocab.json", "tokenizer.model", "tokenizer.bin")) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p) && (!name.equals("vocab.json") || Files.isRegularFile(dir.resolve("merges.txt")))) return p;
        }
        return null;
    }

    public static Tokenizer load(Path path) {
        if (Files.isDirectory(path)) {
            Path found = inDirectory(path);
            if (found == null) throw new LongbowException(path + ": no tokenizer.json, vocab.json + merges.txt, tokenizer.model or tokenizer.bin in this folder");
            return load(found);
        }
        if (!Files.isRegularFile(path)) throw new LongbowException(path + ": no such tokenizer file");
        String name = path.getFileName().toString();
        try {
            byte[] head = new byte[4];
            try (var in = Files.newInputStream(path)) {
                int r = in.readNBytes(head, 0, 4);
                if (r == 4 && head[0] == 'G' && head[1] == 'G' && head[2] == 'U' && head[3] == 'F') {
                    try (ModelFile vocab = dev.longbow.format.GgufVocab.open(path)) {
                        return fromGguf(vocab.metadata(), path.toString());
                    }
                }
            }
            Path dir = path.toAbsolutePath().getParent();
            if (name.equals("vocab.json") || name.equals("merges.txt")) {
                Path vocab = dir.resolve("vocab.json"), merges = dir.resolve("merges.txt");
                if (!Files.isRegularFile(vocab) || !Files.isRegularFile(merges)) throw new LongbowException(path + ": vocab.json needs merges.txt beside it (and the other way round)");
                return VocabMergesFiles.load(vocab, merges);
            }
            if (name.endsWith(".json")) return HfTokenizerJson.load(path);
            long size = Files.size(path);
            if (name.endsWith(".model")) {
                if (TiktokenBpe.looksLikeTiktoken(path)) return TiktokenBpe.load(path);
                if (!SentencePieceModelFile.looksLikeProtobuf(head)) {
                    throw new LongbowException(path + ": neither a SentencePiece model (protobuf) nor a tiktoken vocabulary (base64 and rank per line)");
                }
                if (size > MAX_TOKENIZER_BIN) throw new LongbowException(path + ": " + size + " bytes is too large for a SentencePiece model");
                return SentencePieceBpe.fromModelFile(SentencePieceModelFile.parse(Files.readAllBytes(path), path.toString()), path.toString());
            }
            if (size > MAX_TOKENIZER_BIN) throw new LongbowException(path + ": " + size + " bytes is too large for a llama2.c tokenizer.bin");
            return fromLlama2cBin(Files.readAllBytes(path), path.toString());
        } catch (IOException e) {
            throw new LongbowException(path + ": cannot read: " + e.getMessage());
        }
    }

    /** llama2.c's tokenizer.bin: int32 max_token_length, then per token: float32 score, int32 length, bytes. */
    public static SentencePieceBpe fromLlama2cBin(byte[] data, String name) {
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (data.length < 4) throw new LongbowException(name + ": too short for a llama2.c tokenizer");
        int maxLen = in.getInt();
        if (maxLen <= 0 || maxLen > 1 << 16) throw new LongbowException(name + ": not a llama2.c tokenizer (max token length " + maxLen + ")");
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (in.hasRemaining()) {
            if (in.remaining() < 8) throw new LongbowException(name + ": truncated at token " + pieces.size());
            float score = in.getFloat();
            int len = in.getInt();
            if (len < 0 || len > maxLen || len > in.remaining()) throw new LongbowException(name + ": token " + pieces.size() + " has bad length " + len);
            byte[] b = new byte[len];
            in.get(b);
            pieces.add(new String(b, StandardCharsets.UTF_8));
            scores.add(score);
        }
        if (pieces.size() < 3) throw new LongbowException(name + ": only " + pieces.size() + " tokens");
        int n = pieces.size();
        float[] s = new float[n];
        String[] text = new String[n];
        for (int i = 0; i < n; i++) {
            s[i] = scores.get(i);
            // llama2.c's export wrote U+2581 as a space, and BOS/EOS as "\n<s>\n" and "\n</s>\n" for printing.
            text[i] = pieces.get(i).replace(' ', '\u2581');
            if (i == 1 && text[i].equals("\n<s>\n")) text[i] = "<s>";
            if (i == 2 && text[i].equals("\n</s>\n")) text[i] = "</s>";
        }
        return new SentencePieceBpe(text, s, llama2cTypes(text), 1, 2, 0);
    }

    /** The piece types a vocabulary without them implies: llama2.c's unk/BOS/EOS at 0..2, and {@code <0xNN>} byte pieces. */
    private static int[] llama2cTypes(String[] pieces) {
        int[] types = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            types[i] = i == 0 ? SentencePieceBpe.UNKNOWN : i <= 2 ? SentencePieceBpe.CONTROL
                    : SentencePieceBpe.byteValue(pieces[i]) >= 0 ? SentencePieceBpe.BYTE : SentencePieceBpe.NORMAL;
        }
        return types;
    }

    /** The vocabulary GGUF files carry in tokenizer.ggml.* metadata. */
    public static Tokenizer fromGguf(Map<String, GgufValue> md, String name) {
        GgufValue model = md.get("tokenizer.ggml.model");
        if (model == null) throw new LongbowException(name + ": the GGUF carries no tokenizer (tokenizer.ggml.model); pass --tokenizer FILE");
        String kind = String.valueOf(model.value());
        if (kind.equals("gpt2")) return GgufBpe.read(md, name);
        if (!kind.equals("llama")) {
            throw new LongbowException(name + ": tokenizer kind '" + kind + "' is not supported yet (only SentencePiece 'llama' and byte-level BPE 'gpt2')");
        }
        List<Object> tokens = array(md, "tokenizer.ggml.tokens", name);
        int n = tokens.size();
        List<Object> sc = md.containsKey("tokenizer.ggml.scores") ? array(md, "tokenizer.ggml.scores", name) : null;
        List<Object> ty = md.containsKey("tokenizer.ggml.token_type") ? array(md, "tokenizer.ggml.token_type", name) : null;
        if ((sc != null && sc.size() != n) || (ty != null && ty.size() != n)) {
            throw new LongbowException(name + ": tokenizer arrays disagree in length");
        }
        String[] pieces = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            if (!(tokens.get(i) instanceof String p)) throw new LongbowException(name + ": token " + i + " is not a string");
            pieces[i] = p;
            scores[i] = sc == null ? 0f : number(sc.get(i), "tokenizer.ggml.scores", i, name).floatValue();
            int type = ty == null ? SentencePieceBpe.NORMAL : number(ty.get(i), "tokenizer.ggml.token_type", i, name).intValue();
            types[i] = type >= SentencePieceBpe.NORMAL && type <= SentencePieceBpe.BYTE ? type : SentencePieceBpe.NORMAL;
        }
        if (ty == null) types = llama2cTypes(pieces);
        int bos = id(md, "tokenizer.ggml.bos_token_id", 1, n, name);
        int eos = id(md, "tokenizer.ggml.eos_token_id", 2, n, name);
        int unk = id(md, "tokenizer.ggml.unknown_token_id", 0, n, name);
        GgufValue spacePrefix = md.get("tokenizer.ggml.add_space_prefix");
        boolean addSpacePrefix = spacePrefix == null || !(spacePrefix.value() instanceof Boolean b) || b;
        return new SentencePieceBpe(pieces, scores, types, bos, eos, unk, addSpacePrefix);
    }

    private static Number number(Object v, String key, int i, String name) {
        if (!(v instanceof Number n)) throw new LongbowException(name + ": " + key + "[" + i + "] is not a number");
        return n;
    }

    private static List<Object> array(Map<String, GgufValue> md, String key, String name) {
        GgufValue v = md.get(key);
        if (v == null || v.type() != GgufValue.Type.ARRAY) throw new LongbowException(name + ": missing " + key);
        return v.asArray().items();
    }

    private static int id(Map<String, GgufValue> md, String key, int dflt, int n, String name) {
        GgufValue v = md.get(key);
        if (v == null) return dflt;
        if (!(v.value() instanceof Number num)) throw new LongbowException(name + ": " + key + " is not a number");
        long id = num.longValue();
        if (id < 0 || id >= n) throw new LongbowException(name + ": " + key + " = " + id + " is outside the vocabulary");
        return (int) id;
    }
}
