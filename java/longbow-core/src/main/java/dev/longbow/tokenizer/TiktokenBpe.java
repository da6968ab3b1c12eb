package dev.longbow.tokenizer;

import dev.longbow.LongbowException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Meta's tiktoken {@code tokenizer.model} (Llama 3): one {@code base64(token bytes) rank} line per token, the rank
 * being the id. tiktoken merges whichever adjacent pair's concatenation has the lowest rank; that is BPE with one
 * merge per token (the pair it is built from, found by running those merges on its own bytes with only lower ranks
 * allowed) ranked by the token's rank, which is how Hugging Face converts these files too. The 256 special tokens
 * follow the file's tokens; their names come from a {@code tokenizer_config.json} beside it when there is one.
 */
public final class TiktokenBpe {
    private static final long MAX_BYTES = 64L << 20;
    private static final int SPECIAL_COUNT = 256;

    private TiktokenBpe() {}

    /** Whether the file starts like tiktoken text ({@code base64 rank}) rather than a SentencePiece protobuf. */
    public static boolean looksLikeTiktoken(Path path) {
        byte[] head = new byte[256];
        int n;
        try (var in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            throw new LongbowException(path + ": cannot read: " + e.getMessage());
        }
        int i = 0;
        while (i < n && isBase64(head[i])) i++;
        if (i == 0 || i >= n || head[i] != ' ') return false;
        int j = ++i;
        while (i < n && head[i] >= '0' && head[i] <= '9') i++;
        return i > j && (i == n || head[i] == '\n' || head[i] == '\r');
    }

    private static boolean isBase64(byte c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    }

    public static BpeTokenizer load(Path path) {
        String name = path.toString();
        byte[][] byRank = parse(path, name);
        int n = byRank.length;
        List<String> vocab = new ArrayList<>(n);
        for (byte[] t : byRank) vocab.add(ByteLevel.toByteLevel(t));
        ByteStringIndex index = new ByteStringIndex(byRank);
        List<BpeSpec.Merge> merges = new ArrayList<>(n);
        for (int rank = 0; rank < n; rank++) {
            byte[] t = byRank[rank];
            if (t.length < 2) continue;
            int split = buildingSplit(t, rank, index);
            // A token its own lower-ranked merges cannot build is reachable only whole (ignore_merges); it gets no merge.
            if (split > 0) merges.add(new BpeSpec.Merge(ByteLevel.toByteLevel(java.util.Arrays.copyOf(t, split)), ByteLevel.toByteLevel(java.util.Arrays.copyOfRange(t, split, t.length))));
        }

        List<BpeSpec.AddedToken> added = new ArrayList<>();
        Path dir = path.toAbsolutePath().getParent();
        HfTokenizerConfig config = dir == null ? null : HfTokenizerConfig.beside(dir);
        if (config != null && !config.addedTokens().isEmpty()) {
            added.addAll(config.addedTokens());
        } else {
            List<String> names = llama3SpecialTokens();
            for (int i = 0; i < names.size(); i++) added.add(new BpeSpec.AddedToken(n + i, names.get(i), true));
        }
        int bos = idOf(added, config != null && config.bos() != null ? config.bos() : "<|begin_of_text|>", n, name);
        int eos = idOf(added, config != null && config.eos() != null ? config.eos() : "<|end_of_text|>", n + 1, name);
        BpeSpec spec = new BpeSpec(BpeSpec.Flavour.BYTE_LEVEL, vocab, merges, added, List.of(SplitPatterns.LLAMA3), false, true, null, bos, eos);
        return BpeTokenizer.of(spec, name);
    }

    private static int idOf(List<BpeSpec.AddedToken> added, String content, int dflt, String name) {
        for (BpeSpec.AddedToken a : added) if (a.content().equals(content)) return a.id();
        return dflt;
    }

    /** Meta's Llama 3 special tokens, ids 128000 on: llama/tokenizer.py in meta-llama/llama3. */
    static List<String> llama3SpecialTokens() {
        List<String> names = new ArrayList<>(List.of("<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|reserved_special_token_2|>", "<|reserved_special_token_3|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"));
        for (int i = 5; i < SPECIAL_COUNT - 5; i++) names.add("<|reserved_special_token_" + i + "|>");
        return names;
    }

    private static byte[][] parse(Path path, String name) {
        String text = HfTokenizerConfig.readText(path, MAX_BYTES);
        List<byte[]> tokens = new ArrayList<>();
        Base64.Decoder b64 = Base64.getDecoder();
        List<String> lines = HfTokenizerConfig.lines(text);
        for (int lineNo = 1; lineNo <= lines.size(); lineNo++) {
            String line = lines.get(lineNo - 1);
            if (line.isEmpty()) continue;
            int sp = line.indexOf(' ');
            if (sp <= 0) throw new LongbowException(name + ": line " + lineNo + " is not 'base64 rank'");
            byte[] token;
            int rank;
            try {
                token = b64.decode(line.substring(0, sp));
                rank = Integer.parseInt(line.substring(sp + 1));
            } catch (IllegalArgumentException e) {
                throw new LongbowException(name + ": line " + lineNo + " is not 'base64 rank': '" + VocabMergesFiles.abbreviate(line) + "'");
            }
            if (token.length == 0) throw new LongbowException(name + ": line " + lineNo + " is an empty token");
            if (rank != tokens.size()) throw new LongbowException(name + ": line " + lineNo + " has rank " + rank + ", expected " + tokens.size() + " (ranks must count up from 0)");
            tokens.add(token);
        }
        if (tokens.size() < 256) throw new LongbowException(name + ": only " + tokens.size() + " tokens; a tiktoken file has at least the 256 bytes");
        byte[][] out = tokens.toArray(byte[][]::new);
        if (new ByteStringIndex(out).size() != out.length) throw new LongbowException(name + ": a token appears twice");
        return out;
    }

    /**
     * Runs tiktoken's merging on {@code token}'s bytes with only ranks below its own, and returns where the last
     * two parts meet, or -1 when it does not end in exactly two parts.
     */
    private static int buildingSplit(byte[] token, int rank, ByteStringIndex index) {
        int n = token.length;
        int[] bounds = new int[n + 1]; // part i is token[bounds[i], bounds[i+1])
        for (int i = 0; i <= n; i++) bounds[i] = i;
        int parts = n;
        while (parts > 2) {
            int best = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts; i++) {
                int r = index.find(token, bounds[i], bounds[i + 2] - bounds[i]);
                if (r >= 0 && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0 || bestRank >= rank) return -1;
            System.arraycopy(bounds, best + 2, bounds, best + 1, parts - best - 1);
            parts--;
        }
        return parts == 2 && index.find(token, 0, bounds[1]) >= 0 && index.find(token, bounds[1], n - bounds[1]) >= 0 ? bounds[1] : -1;
    }
}
