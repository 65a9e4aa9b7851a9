"""CLIP-format BPE tokenizer: a writer (vocab.json + merges.txt + configs) and an encoder.

Layout follows CLIP: ids 0..255 are the byte-level unicode characters, 256..511 the same
characters with the word-end marker `</w>`, then one id per merge, then `<|startoftext|>`
and `<|endoftext|>` as the last two ids. Merges are learnt on the world's word list until
every known word is a single token; any other text falls back to sub-word/character pieces.
"""
import json
import os
import re
from collections import Counter

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MAX_LEN = 77


def bytes_to_unicode():
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()
PAT = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)


def _word_symbols(word):
    chars = [BYTE_ENC[b] for b in word.encode("utf-8")]
    return tuple(chars[:-1]) + (chars[-1] + "</w>",)


def learn_merges(words):
    """Greedy BPE on the word list until every word is one symbol."""
    corpus = {w: _word_symbols(w) for w in words}
    merges = []
    while True:
        pairs = Counter()
        for syms in corpus.values():
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] += 1
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        for w, syms in corpus.items():
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and (syms[i], syms[i + 1]) == best:
                    out.append(syms[i] + syms[i + 1])
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            corpus[w] = tuple(out)
    return merges


def build_vocab(merges):
    chars = list(BYTE_ENC.values())
    vocab = chars + [c + "</w>" for c in chars]
    seen = set(vocab)
    for a, b in merges:
        t = a + b
        if t not in seen:
            vocab.append(t)
            seen.add(t)
    vocab += [BOS, EOS]
    return {t: i for i, t in enumerate(vocab)}


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.bos = vocab[BOS]
        self.eos = vocab[EOS]
        self.cache = {}

    @classmethod
    def from_dir(cls, d):
        with open(os.path.join(d, "vocab.json")) as f:
            vocab = json.load(f)
        with open(os.path.join(d, "merges.txt")) as f:
            lines = f.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1:] if line.strip()]
        return cls(vocab, merges)

    @classmethod
    def from_words(cls, words):
        merges = learn_merges(words)
        return cls(build_vocab(merges), merges)

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        syms = list(_word_symbols(word))
        while len(syms) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(syms, syms[1:]))]
            r, i = min(pairs)
            if r == 1 << 30:
                break
            a, b = syms[i], syms[i + 1]
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and syms[j] == a and syms[j + 1] == b:
                    out.append(a + b)
                    j += 2
                else:
                    out.append(syms[j])
                    j += 1
            syms = out
        self.cache[word] = syms
        return syms

    def tokenize(self, text):
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for w in PAT.findall(text):
            ids += [self.vocab[s] for s in self.bpe(w)]
        return ids

    def __call__(self, text, max_len=MAX_LEN):
        ids = [self.bos] + self.tokenize(text)[: max_len - 2] + [self.eos]
        return ids + [self.eos] * (max_len - len(ids))

    def save(self, d):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "vocab.json"), "w") as f:
            json.dump(self.vocab, f, ensure_ascii=False)
        merges = sorted(self.ranks, key=self.ranks.get)
        with open(os.path.join(d, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n" + "".join("%s %s\n" % m for m in merges))
        special = {
            "bos_token": {"content": BOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
            "eos_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
            "pad_token": EOS,
            "unk_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
        }
        with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
            json.dump(special, f, indent=2)
        cfg = {
            "add_prefix_space": False,
            "bos_token": special["bos_token"],
            "do_lower_case": True,
            "eos_token": special["eos_token"],
            "errors": "replace",
            "model_max_length": MAX_LEN,
            "pad_token": EOS,
            "tokenizer_class": "CLIPTokenizer",
            "unk_token": special["unk_token"],
        }
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)


def default_tokenizer():
    from .world import WORDS

    return Tokenizer.from_words(WORDS)
