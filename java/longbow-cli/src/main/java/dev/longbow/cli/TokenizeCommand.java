package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

final class TokenizeCommand implements Command {
    @Override
    public String name() {
        return "tokenize";
    }

    @Override
    public String summary() {
        return "show the token ids and pieces of a text";
    }

    @Override
    public String help() {
        return """
                usage: longbow tokenize (--model PATH | --tokenizer PATH) --text TEXT [--bos | --no-bos] [--json]

                  --model PATH      use the model's tokenizer (default: the embedded sample model)
                  --tokenizer PATH  tokenizer file: llama2.c tokenizer.bin or a (vocab) .gguf
                  --text TEXT       text to tokenize
                  --bos / --no-bos  start with BOS (default: --bos)
                  --json            print {"ids": [...], "pieces": [...]}
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model", "--tokenizer", "--text");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--bos", "--no-bos", "--json");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        if (!a.has("--text")) throw new LongbowException("tokenize: --text is required");
        if (a.has("--bos") && a.has("--no-bos")) throw new LongbowException("tokenize: give --bos or --no-bos, not both");
        Tokenizer tok;
        Path explicit = a.path("--tokenizer");
        if (explicit != null && !a.has("--model")) {
            tok = Tokenizers.load(explicit);
        } else {
            try (ModelFile f = ModelLoader.open(ModelOptions.model(a))) {
                tok = Tokenizers.forModel(f, explicit);
            }
        }
        int[] ids = tok.encode(a.str("--text", ""), !a.has("--no-bos"));
        List<String> pieces = new ArrayList<>();
        for (int id : ids) pieces.add(tok.piece(id));
        if (a.has("--json")) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("ids", ids);
            o.put("pieces", pieces);
            out.println(Json.write(o));
        } else {
            for (int i = 0; i < ids.length; i++) out.println(ids[i] + "\t" + Json.write(pieces.get(i)));
        }
        return 0;
    }
}
