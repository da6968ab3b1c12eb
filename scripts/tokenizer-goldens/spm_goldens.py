#!/usr/bin/python3
"""Reference token ids and decodes from the sentencepiece library, for Longbow's SentencePiece BPE tests.

Run with the system Python that has sentencepiece (0.1.97 here):

    /usr/bin/python3 scripts/tokenizer-goldens/spm_goldens.py [--train] [--shared DIR]

--train first (re)trains the small test models this project made itself (they are committed, so this is only
needed to change them):
  spm-nfkc-bpe.model     BPE, nmt_nfkc normalization (precompiled charsmap), byte fallback, user-defined symbols
                         <br> [[ ]] @@ @@@ ab, control symbols <sep> <cls>
  spm-suffix-bpe.model   BPE, identity normalization, treat_whitespace_as_suffix, no byte fallback, character
                         coverage below 1
  spm-suffix-unused.model the same with every 7th multi-character piece then marked UNUSED (resegmentation)

Then, for each model below, it writes java/longbow-core/src/test/resources/tokenizer/spm-<name>.jsonl (a corpus of
texts sampled deterministically from <shared>/data/*.txt plus hand-written edge cases, and random id sequences to
decode) and spm-<name>-random.jsonl (random strings from many Unicode blocks, a different seed: texts the
implementation was not tuned on). Each line is JSON: the first {"kind": "meta", ...}, then
{"kind": "text"|"random", "text", "ids", "decode"} or {"kind": "decode", "ids", "decode"}. "text" is what a Java
String holds; where it has an unpaired surrogate the ids are those of the text with U+FFFD in its place, which is
how Longbow reads such text.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import tempfile

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "java", "longbow-core", "src", "test", "resources", "tokenizer")


# --- a minimal protobuf reader/writer, to patch a few fields of a ModelProto ---

def read_varint(b, i):
    value, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        if c < 0x80:
            return value, i
        shift += 7


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append(0x80 | (n & 0x7F))
        n >>= 7


def fields(b):
    """(field number, wire type, payload, raw bytes of the whole field) for each field of message b."""
    i = 0
    while i < len(b):
        start = i
        tag, i = read_varint(b, i)
        field, wire = tag >> 3, tag & 7
        if wire == 0:
            value, i = read_varint(b, i)
        elif wire == 1:
            value, i = b[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(b, i)
            value, i = b[i:i + n], i + n
        elif wire == 5:
            value, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        yield field, wire, value, b[start:i]


def length_field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def with_varints(message, updates):
    """message with the varint fields in updates (number -> value) replaced or added."""
    out = bytearray()
    for field, wire, value, raw in fields(message):
        if field not in updates:
            out += raw
    for number, value in sorted(updates.items()):
        out += varint(number << 3) + varint(value)
    return bytes(out)


def without(message, numbers):
    return b"".join(raw for field, wire, value, raw in fields(message) if field not in numbers)


def patch_model(data, normalizer=None, piece_types=None, trainer_defaults=()):
    """data (a serialized ModelProto) with normalizer_spec varints and some pieces' types changed, and the
    trainer_spec fields numbered in trainer_defaults removed (back to their defaults)."""
    out = bytearray()
    index = 0
    for field, wire, value, raw in fields(data):
        if field == 1:
            if piece_types and index in piece_types:
                raw = length_field(1, with_varints(value, {3: piece_types[index]}))
            index += 1
        elif field == 2 and trainer_defaults:
            raw = length_field(2, without(value, trainer_defaults))
        elif field == 3 and normalizer:
            raw = length_field(3, with_varints(value, normalizer))
        out += raw
    return bytes(out)


# --- texts ---

def data_texts(shared, rng):
    texts = []
    data = os.path.join(shared, "data")
    for name in sorted(os.listdir(data)):
        if not name.endswith(".txt"):
            continue
        with open(os.path.join(data, name), encoding="utf-8") as f:
            text = f.read()
        for _ in range(26):  # a sentence, from the start of one to its end
            pos = rng.randrange(len(text) - 400)
            begin = max(text.rfind(". ", 0, pos), text.rfind("\n", 0, pos)) + 1
            while begin < len(text) and text[begin] in " \n":
                begin += 1
            end = min([e for e in (text.find(c, begin) for c in ".!?") if e >= 0] + [begin + 300]) + 1
            if end > begin + 1:
                texts.append(text[begin:min(end, begin + 300)])
        for _ in range(24):  # a raw slice: cut words, newlines, indentation, blank lines
            pos = rng.randrange(len(text) - 600)
            texts.append(text[pos:pos + rng.randint(1, 500)])
    return texts


def edge_texts():
    t = ["", " ", "  ", "\t", "\n", "\n\n", "\r\n", "a", "Hello", " Hello", "Hello ", "  Hello  world  ", "Hello world",
         "Hello\nworld", "Hello\n\nworld\n", "a\tb", "a\t\tb", "\ta", "a\t", "a\r\nb"]
    t += [" " * k for k in range(3, 21)]
    t += ["a" + " " * k + "b" for k in range(1, 21)]
    t += [" " * k + "x" for k in (1, 2, 5)] + ["x" + " " * k for k in (1, 2, 5)]
    t += ["x" + chr(c) + "y" for c in range(0x00, 0x20)] + ["".join(chr(c) for c in range(0x20)), "\x7f", "a\x7fb", "\x85", "a\x85b"]
    t += ["\u00a0", "a\u00a0b", "\u3000", "a\u3000b", "a\u2028b", "a\u2009b", "a\u200ab"]
    t += ["0", "1234567890", "3.14159265358979", "0" * 22, "12,345,678.90", "1e10", "2024-05-21", "+49 (0)30 1234567",
          "9" * 64, "ABC123def456"]
    t += ["😀", "😀😀😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🇯🇵🇺🇸", "🏳️\u200d🌈", "I ❤️ NY", "smile 😀 and 🍕!"]
    t += ["日本語のテキスト", "中文分词测试", "한국어 텍스트입니다", "日本 x 日本", "東京タワーは333メートル"]
    t += ["مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "Привет, мир!", "Καλημέρα κόσμε", "สวัสดีชาวโลก", "Xin chào thế giới",
          "Hello Привет 你好 مرحبا שלום नमस्ते", "abc\u202eRTL\u202cdef"]
    t += ["e\u0301", "cafe\u0301", "café", "a\u0308\u0301", "Z\u0324\u0354\u0367\u0311a\u0308\u0356l\u036eg\u0317o\u0319",
          "\u0301", "n\u0303o\u0303"]
    t += ["a\u200db", "a\u200cb", "\u200b", "a\u200bb", "\ufeff", "\ufeffHello", "\u2060"]
    t += ["\ufffd", "a\ufffdb", "\ufffd\ufffd"]
    t += ["\u2581", "a\u2581b", "\u2581\u2581 x", "\u2581Hello", "Hello\u2581"]
    t += ["<s>", "</s>", "<unk>", "<pad>", "<s>Hello</s>", "a <s> b", "<s> <s>", "<0x41>", "<sep>", "x<cls>y", "<br>",
          "line<br>break", "[[link]]", "@@", "@@@@", "@@@", "abab abc about", "<<s>>", "</s></s>"]
    t += ["ＡＢＣ１２３", "ｶﾀｶﾅ", "ﬁne ﬂow", "①②③", "™ ℃ №", "x² y³", "½ ¼", "Ⅻ", "…", "wait…what", "ﾟ", "㍻", "ℌ𝔢𝔩𝔩𝔬"]
    t += ["a\ud800b", "\udc00", "\ud800\ud800", "x\udbff"]  # unpaired surrogates (as a Java String holds them)
    t += ["𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀀𠀁𠀂", "\U0010ffff", "a\U000e0001b", "\ue000", "\U000f0000"]
    t += ["a" * 300, "ab" * 150, "1" * 200, " " * 100 + "x", "the " * 60, "😀" * 40]
    t += ["def f(x):\n    return x ** 2  # square\n", "<html><body>Hi</body></html>", "https://example.com/path?q=1&r=2",
          "C:\\Users\\me\\file.txt", "{\"key\": [1, 2, 3]}", "x_y-z.w", "!!!???...", "— – -", "“Hello,” she said.", "it's", "'''"]
    return t


BLOCKS = [(0x20, 0x7E, 30), (0x09, 0x0D, 3), (0x00, 0x1F, 1), (0xA0, 0xFF, 4), (0x100, 0x24F, 3), (0x300, 0x36F, 3),
          (0x370, 0x3FF, 2), (0x400, 0x4FF, 3), (0x590, 0x5FF, 2), (0x600, 0x6FF, 2), (0x900, 0x97F, 2), (0xE00, 0xE7F, 1),
          (0x1100, 0x11FF, 1), (0x2000, 0x206F, 3), (0x2100, 0x218F, 2), (0x2460, 0x24FF, 1), (0x2580, 0x259F, 1),
          (0x3000, 0x30FF, 3), (0x3200, 0x33FF, 1), (0x4E00, 0x9FFF, 4), (0xAC00, 0xD7A3, 2), (0xE000, 0xE0FF, 1),
          (0xF900, 0xFAFF, 1), (0xFB00, 0xFB4F, 1), (0xFE00, 0xFE6F, 1), (0xFF00, 0xFFEF, 3), (0xFFF0, 0xFFFD, 1),
          (0x1D400, 0x1D7FF, 2), (0x1F300, 0x1FAFF, 4), (0x20000, 0x2A6DF, 1), (0xE0000, 0xE007F, 1), (0x10FFF0, 0x10FFFF, 1)]


def random_texts(seed, count):
    rng = random.Random(seed)
    weights = [w for _, _, w in BLOCKS]
    texts = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(1, 40)):
            lo, hi, _ = rng.choices(BLOCKS, weights)[0]
            c = rng.randint(lo, hi)
            chars.append(" " * rng.randint(1, 3) if rng.random() < 0.15 else chr(c))
        texts.append("".join(chars))
    return texts


def as_java_reads(text):
    """The text a Java String with these UTF-16 units holds, with each unpaired surrogate read as U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def random_id_lists(sp, seed, count):
    rng = random.Random(seed)
    n = sp.get_piece_size()
    byte_ids = [i for i in range(n) if sp.is_byte(i)]
    special = [i for i in range(n) if sp.is_control(i) or sp.is_unknown(i)]
    lists = []
    for _ in range(count):
        ids = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if byte_ids and r < 0.45:
                ids.append(rng.choice(byte_ids))
            elif r < 0.55:
                ids.append(rng.choice(special))
            else:
                ids.append(rng.randrange(n))
        lists.append(ids)
    return lists


def write_goldens(name, model_bytes, source, texts, shared_random_seed):
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    meta = {"kind": "meta", "model": source, "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "sentencepiece": spm.__version__, "pieces": sp.get_piece_size()}

    def record(kind, text):
        ids = sp.encode(as_java_reads(text))
        return {"kind": kind, "text": text, "ids": ids, "decode": sp.decode(ids)}

    lines = [meta] + [record("text", t) for t in texts]
    lines += [{"kind": "decode", "ids": ids, "decode": sp.decode(ids)} for ids in random_id_lists(sp, 4242, 150)]
    dump(os.path.join(OUT, "spm-%s.jsonl" % name), lines)
    randoms = [meta] + [record("random", t) for t in random_texts(shared_random_seed, 300)]
    dump(os.path.join(OUT, "spm-%s-random.jsonl" % name), randoms)
    print("%-18s %4d texts, %3d random strings, %s" % (name, len(texts), len(randoms) - 1, source))


def dump(path, lines):
    with open(path, "w", encoding="ascii") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=True, separators=(",", ":")) + "\n")


def train(shared, texts):
    rng = random.Random(99)
    lines = []
    data = os.path.join(shared, "data")
    for name in sorted(os.listdir(data)):
        if name.endswith(".txt"):
            with open(os.path.join(data, name), encoding="utf-8") as f:
                lines += [l for l in f.read()[:80000].split("\n") if l.strip()]
    lines += [t.replace("\n", " ") for t in texts if t.strip() and as_java_reads(t) == t]
    rng.shuffle(lines)
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the model records its input and prefix names: keep them free of the temporary path
        with open("corpus.txt", "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        common = dict(input="corpus.txt", model_type="bpe", num_threads=1, shuffle_input_sentence=False, minloglevel=2)
        spm.SentencePieceTrainer.train(model_prefix="nfkc", vocab_size=1200, normalization_rule_name="nmt_nfkc",
                                       byte_fallback=True, user_defined_symbols=["<br>", "[[", "]]", "@@", "@@@", "ab"],
                                       control_symbols=["<sep>", "<cls>"], **common)
        spm.SentencePieceTrainer.train(model_prefix="suffix", vocab_size=600, normalization_rule_name="identity",
                                       treat_whitespace_as_suffix=True, character_coverage=0.98, **common)
        with open(os.path.join(tmp, "nfkc.model"), "rb") as f:
            nfkc = f.read()
        with open(os.path.join(tmp, "suffix.model"), "rb") as f:
            suffix = f.read()
        os.chdir(here)
    sp = spm.SentencePieceProcessor(model_proto=suffix)
    unused = [i for i in range(sp.get_piece_size()) if not (sp.is_control(i) or sp.is_unknown(i) or sp.is_byte(i))
              and len(sp.id_to_piece(i)) >= 2][::7]
    suffix_unused = patch_model(suffix, piece_types={i: 5 for i in unused})
    for name, data in (("spm-nfkc-bpe.model", nfkc), ("spm-suffix-bpe.model", suffix), ("spm-suffix-unused.model", suffix_unused)):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print("trained %s (%d bytes)" % (name, len(data)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", action="store_true", help="retrain the small test models first")
    parser.add_argument("--shared", default=os.environ.get("LONGBOW_SHARED", os.path.join(ROOT, "..", "shared")))
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(args.shared, "data")):
        sys.exit("no %s/data: pass --shared DIR (the shared data folder)" % args.shared)
    os.makedirs(OUT, exist_ok=True)
    texts = data_texts(args.shared, random.Random(20240521)) + edge_texts()
    if args.train:
        train(args.shared, edge_texts())

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    llama2 = read(os.path.join(args.shared, "models", "llama2-tokenizer.model"))
    tok105 = read(os.path.join(args.shared, "models", "tok105.model"))
    write_goldens("llama2", llama2, "shared models/llama2-tokenizer.model", texts, 777)
    write_goldens("tok105", tok105, "shared models/tok105.model", texts, 777)
    # llama2.c's tok105.bin keeps no normalizer or trainer settings; Longbow reads it with Llama's, as llama2.c's run.c
    # encodes: tok105.model with remove_extra_whitespaces off and the default unknown surface (tok105.model spells
    # its unk_surface as the literal text " \\342\\201\\207 ").
    write_goldens("tok105-bin", patch_model(tok105, normalizer={4: 0}, trainer_defaults=(44,)),
                  "shared models/tok105.model, remove_extra_whitespaces=false, default unk_surface", texts, 777)
    write_goldens("nfkc-bpe", read(os.path.join(OUT, "spm-nfkc-bpe.model")), "spm-nfkc-bpe.model", texts, 777)
    write_goldens("suffix-bpe", read(os.path.join(OUT, "spm-suffix-bpe.model")), "spm-suffix-bpe.model", texts, 777)
    write_goldens("suffix-unused", read(os.path.join(OUT, "spm-suffix-unused.model")), "spm-suffix-unused.model", texts, 777)


if __name__ == "__main__":
    main()
