package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.convert.GgufConverter;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizers;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;

final class ConvertCommand implements Command {
    @Override
    public String name() {
        return "convert";
    }

    @Override
    public String summary() {
        return "write a model as GGUF (f32, f16, q8_0, q4_0, q4_k, q5_k, q6_k)";
    }

    @Override
    public String help() {
        return """
                usage: longbow convert --model PATH --out FILE.gguf [--type f32|f16|q8_0|q4_0|q4_k|q5_k|q6_k] [--tokenizer PATH]
                       longbow convert --model PATH --out FOLDER --format hf [--type f32|f16|bf16]

                Reads a llama2.c checkpoint, a Hugging Face folder or a GGUF, and writes GGUF v3 that llama.cpp loads:
                q/k rows in llama.cpp's layout, norms in F32, every matrix in --type, and the tokenizer in the metadata.
                A matrix whose rows are not whole blocks falls back: to Q8_0 for the K-quants (blocks of 256) where
                rows are whole 32-value blocks (llama.cpp picks Q5_0/Q5_1/Q8_0 there), else to F16.

                  --format F        gguf (default) or hf: a Hugging Face folder (config.json + model.safetensors)
                  --model PATH      source model
                  --out FILE        destination (written beside, then renamed into place)
                  --type T          weight type (default f16)
                  --tokenizer PATH  tokenizer to embed (default: found in or beside the model)
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model", "--out", "--type", "--tokenizer", "--format");
    }

    @Override
    public Set<String> flags() {
        return Set.of();
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        Path in = a.path("--model"), dst = a.path("--out");
        if (in == null || dst == null) throw new LongbowException("convert: --model and --out are required");
        String format = a.str("--format", "gguf");
        if (!format.equals("gguf") && !format.equals("hf")) throw new LongbowException("convert: unknown --format '" + format + "' (gguf, hf)");
        String typeName = a.str("--type", "f16");
        WeightType type = WeightType.parse(typeName);
        boolean ok = type != null && !type.sectioned() && (format.equals("gguf") ? type != WeightType.BF16 : type == WeightType.F32 || type == WeightType.F16 || type == WeightType.BF16);
        if (!ok) throw new LongbowException("convert: --type '" + typeName + "' is not one of " + (format.equals("gguf") ? "f32, f16, q8_0, q4_0, q4_k, q5_k, q6_k" : "f32, f16, bf16"));
        try (ModelFile f = ModelLoader.open(in)) {
            long start = System.nanoTime();
            if (format.equals("hf")) {
                dev.longbow.convert.HfWriter.write(f, type, dst);
                err.printf("wrote %s (%s) in %.1f s%n", dst, type, (System.nanoTime() - start) / 1e9);
                return 0;
            }
            dev.longbow.tokenizer.Tokenizer tokenizer = null;
            try {
                tokenizer = Tokenizers.forModel(f, a.path("--tokenizer"));
            } catch (LongbowException e) {
                if (a.has("--tokenizer")) throw e;
                // The weights are still worth converting; say plainly what the file will lack.
                err.println("longbow: warning: no tokenizer embedded (" + e.getMessage() + "); llama.cpp needs one to load the file");
            }
            GgufConverter.convert(f, tokenizer, type, dst);
            err.printf("wrote %s (%s, %,d bytes) in %.1f s%n", dst, type, java.nio.file.Files.size(dst), (System.nanoTime() - start) / 1e9);
        }
        return 0;
    }
}
