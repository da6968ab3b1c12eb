package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.tokenizer.train.TokenizerTrainer;
import dev.longbow.tokenizer.train.TrainedTokenizer;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

final class TrainTokenizerCommand implements Command {
    @Override
    public String name() {
        return "train-tokenizer";
    }

    @Override
    public String summary() {
        return "train a BPE tokenizer on text files, written as tokenizer.json";
    }

    @Override
    public String help() {
        return """
                usage: longbow train-tokenizer --input FILE [--input FILE ...] --vocab-size N --kind bpe|byte-bpe --out tokenizer.json
                                               [--min-frequency F] [--special TOKEN ...] [--character-coverage C]

                Learns BPE merges (most frequent adjacent pair first; ties to the pair of lower token ids, as Hugging Face's
                trainer) and writes a Hugging Face tokenizer.json. Progress goes to stderr every few seconds.

                  --input FILE              UTF-8 text; repeat for several files
                  --vocab-size N            tokens in the result, special tokens and alphabet included
                  --kind byte-bpe           GPT-2 style: GPT-2 split pattern, 256 byte symbols, ByteLevel pre-tokenizer
                                            and decoder; special tokens take ids 0.. before the bytes
                  --kind bpe                Llama 2 style: each line a sentence, words start at "▁", characters with
                                            byte fallback; ids <unk> <s> </s>, further specials, <0x00>..<0xFF>,
                                            characters, merges
                  --out FILE                tokenizer.json to write
                  --min-frequency F         least count a pair needs to be merged (default 2); training stops early
                                            if no pair has it
                  --special TOKEN           special token; repeat for several (default for byte-bpe: <|endoftext|>;
                                            for bpe, extra ones after <unk> <s> </s>). Their spellings in the text
                                            separate words and are not learned from.
                  --character-coverage C    bpe: keep the most frequent characters covering this share of the text,
                                            the rest become byte tokens (default 0.9995, as SentencePiece)
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--input", "--vocab-size", "--kind", "--out", "--min-frequency", "--special", "--character-coverage");
    }

    @Override
    public Set<String> flags() {
        return Set.of();
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        List<String> inputNames = a.all("--input");
        Path dst = a.path("--out");
        if (inputNames.isEmpty() || dst == null || !a.has("--vocab-size") || !a.has("--kind")) {
            throw new LongbowException("train-tokenizer: --input, --vocab-size, --kind and --out are required");
        }
        TokenizerTrainer.Kind kind;
        try {
            kind = TokenizerTrainer.Kind.parse(a.str("--kind", ""));
        } catch (LongbowException e) {
            throw new LongbowException("train-tokenizer: " + e.getMessage());
        }
        if (kind != TokenizerTrainer.Kind.BPE && a.has("--character-coverage")) {
            throw new LongbowException("train-tokenizer: --character-coverage is for --kind bpe only");
        }
        List<Path> inputs = new ArrayList<>();
        for (String name : inputNames) {
            Path p = Path.of(name);
            if (!Files.isRegularFile(p)) throw new LongbowException("train-tokenizer: " + name + ": no such file");
            inputs.add(p);
        }
        List<String> specials = a.has("--special") ? a.all("--special") : TokenizerTrainer.Options.defaultSpecialTokens(kind);
        TokenizerTrainer.Options options;
        try {
            options = new TokenizerTrainer.Options(kind, a.integer("--vocab-size", 0), a.longValue("--min-frequency", 2), specials,
                    a.number("--character-coverage", 0.9995f));
        } catch (LongbowException e) {
            throw new LongbowException("train-tokenizer: " + e.getMessage());
        }

        long start = System.nanoTime();
        TrainedTokenizer trained = TokenizerTrainer.train(inputs, options, err);
        Path tmp = dst.resolveSibling(dst.getFileName() + ".partial");
        Files.writeString(tmp, trained.toJson(), StandardCharsets.UTF_8);
        Files.move(tmp, dst, StandardCopyOption.REPLACE_EXISTING);

        TokenizerTrainer.Stats s = trained.stats();
        if (trained.vocabSize() < options.vocabSize()) {
            err.printf(Locale.ROOT, "longbow: warning: stopped at %,d tokens of %,d: no further pair occurs at least %d times%n",
                    trained.vocabSize(), options.vocabSize(), Math.max(1, options.minFrequency()));
        }
        out.printf(Locale.ROOT, "wrote %s: %,d tokens (%,d initial, %,d merges; last merge count %,d) from %.1f MB, %,d words (%,d distinct)"
                        + " in %.1f s (counting %.1f s, merging %.1f s)%n",
                dst, trained.vocabSize(), s.alphabet(), trained.merges().size(), s.lastMergeCount(), s.bytes() / 1e6, s.words(),
                s.distinctWords(), (System.nanoTime() - start) / 1e9, s.countSeconds(), s.mergeSeconds());
        return 0;
    }
}
