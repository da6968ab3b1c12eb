package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.convert.Synth;
import dev.longbow.tensor.WeightType;

import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;

final class SynthCommand implements Command {
    @Override
    public String name() {
        return "synth";
    }

    @Override
    public String summary() {
        return "write a deterministic random-weight GGUF in a released model's shape";
    }

    @Override
    public String help() {
        return "usage: longbow synth --shape NAME --out FILE.gguf [--type f32|f16|q8_0|q4_0|q4_k|q5_k|q6_k] [--seed S] [--tokenizer PATH]\n\n"
                + "  --shape NAME  one of: " + String.join(", ", Synth.SHAPES.keySet()) + "\n"
                + "  --type T      weight type (default q8_0); rows that are not whole blocks fall back as in convert\n"
                + "  --seed S      weights seed (default 1); the same seed gives the same file\n"
                + "  --tokenizer PATH  carry this tokenizer (its size sets the vocabulary; default: a made-up SentencePiece one)\n";
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--shape", "--out", "--type", "--seed", "--tokenizer");
    }

    @Override
    public Set<String> flags() {
        return Set.of();
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        Path dst = a.path("--out");
        if (!a.has("--shape") || dst == null) throw new LongbowException("synth: --shape and --out are required");
        String typeName = a.str("--type", "q8_0");
        WeightType type = WeightType.parse(typeName);
        if (type == null || type == WeightType.BF16 || type.sectioned()) throw new LongbowException("synth: unknown --type '" + typeName + "' (f32, f16, q8_0, q4_0, q4_k, q5_k, q6_k)");
        long start = System.nanoTime();
        Tokenizer tokenizer = a.has("--tokenizer") ? Tokenizers.load(a.path("--tokenizer")) : null;
        Synth.write(Synth.shape(a.str("--shape", "")), type, a.longValue("--seed", 1), dst, tokenizer);
        err.printf("wrote %s (%s, %,d bytes) in %.1f s%n", dst, type, java.nio.file.Files.size(dst), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
