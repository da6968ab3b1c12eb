package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import dev.longbow.util.Json;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
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
                usage: longbow tokenize (--model PATH | --tokenizer PATH) (--text TEXT | --text-file FILE | --decode IDS)
                                        [--bos | --no-bos] [--parse-special] [--json]

                  --model PATH       use the model's tokenizer (default: the embedded sample model)
                  --tokenizer PATH   a tokenizer file or the folder a download left: tokenizer.json,
                                     vocab.json + merges.txt, tokenizer.model (SentencePiece or Llama 3 tiktoken),
                                     llama2.c tokenizer.bin, or a (vocab-only) .gguf
                  --text TEXT        text to tokenize
                  --text-file FILE   tokenize the contents of FILE (UTF-8)
                  --decode IDS       turn token ids (comma- or space-separated) back into text
                  --bos / --no-bos   start with BOS when the vocabulary has one (default: --bos)
                  --parse-special    special tokens spelled in the text (<|im_start|>, <s>) become their ids;
                                     without it they are tokenized as plain text
                  --json             print {"ids": [...], "pieces": [...]} (with --decode: {"text": ...})
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model", "--tokenizer", "--text", "--text-file", "--decode");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--bos", "--no-bos", "--json", "--parse-special");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        int inputs = (a.has("--text") ? 1 : 0) + (a.has("--text-file") ? 1 : 0) + (a.has("--decode") ? 1 : 0);
        if (inputs != 1) throw new LongbowException("tokenize: give exactly one of --text, --text-file or --decode");
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
        if (a.has("--decode")) {
            String text = tok.decode(parseIds(a.str("--decode", ""), tok.vocabSize()));
            out.println(a.has("--json") ? Json.write(Map.of("text", text)) : text);
            return 0;
        }
        String text = a.has("--text") ? a.str("--text", "") : readText("tokenize", a.path("--text-file"));
        int[] ids = tok.encode(text, !a.has("--no-bos"), a.has("--parse-special"));
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

    /** The UTF-8 text of {@code file}; a missing or undecodable file is a one-line error naming {@code command}. */
    static String readText(String command, Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            var decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
            return decoder.decode(ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new LongbowException(command + ": " + file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new LongbowException(command + ": " + file + ": not valid UTF-8 text");
        } catch (IOException e) {
            throw new LongbowException(command + ": " + file + ": cannot read: " + e.getMessage());
        }
    }

    static int[] parseIds(String spec, int vocabSize) {
        String[] parts = spec.trim().split("[,\\s]+");
        if (spec.isBlank()) return new int[0];
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new LongbowException("tokenize: --decode: '" + parts[i] + "' is not a token id");
            }
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new LongbowException("tokenize: --decode: id " + ids[i] + " is outside the vocabulary (0.." + (vocabSize - 1) + ")");
            }
        }
        return ids;
    }
}
