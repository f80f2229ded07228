"""How many things an instruction asks about, read off its words: numbers ("seven", "7", "a dozen",
"twenty-one") and the size of enumerations ("French, German and Dutch").

Requests say how many things to work on ("translate it into three languages", "reconcile 12 files",
"compare Acme, Globex and Initech"); the planner must repeat a branch that many times. A pretrained
encoder tells "seven" from "eight" but does not expose seven as a quantity, so each token also gets the
value it writes and, on the conjunction that closes an enumeration, the number of items; the model's
count reader learns which of those count something.

Everything is read per word (text between spaces), not per sub-word token: "photo_002.jpg," is one
word that writes no number and ends an item, however the tokenizer cuts it.
"""

from __future__ import annotations

UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
WORDS = {**{w: float(n) for n, w in enumerate(UNITS)}, **{w: float(n) for w, n in TENS.items()},
         "dozen": 12.0, "couple": 2.0, "pair": 2.0, "both": 2.0, "single": 1.0}
CAP = 100.0
COMMAS = (",", ";")
CONJUNCTIONS = {"and", "&", "or", "plus"}
MAX_ITEM_WORDS = 6  # a list item is a few words; a longer stretch between separators is a clause
PUNCTUATION = ",;:.!?()[]\"'"
# What `token_numbers` reads, versioned: a checkpoint records the version it learnt from (Checkpoint.numerals_version),
# and a planner read by another one says its plans may differ from its validation figures (`reader_note`).
# 1: numbers and list sizes per token; 2: per word; 3: a list of two after a clause joined by "and".
# Bump it with any change to what the reader gives (tests/test_model_numerals.py pins its readings of a few requests).
READER_VERSION = 3


def _piece(token: str) -> str:
    """A token without WordPiece's "##" or SentencePiece's "▁" marker."""
    return token.removeprefix("▁").removeprefix("##")


def word_ids(tokens: list[str], offsets: list[tuple[int, int]] | None = None) -> list[int]:
    """Per token, the index of the word (run of text between spaces) it belongs to; -1 for special tokens.

    With the tokenizer's character offsets, tokens that touch belong to one word; without them the
    pieces' markers decide ("##" continues a word, "▁" starts one)."""
    ids, word, last_end = [], -1, None
    sentencepiece = any(t.startswith("▁") for t in tokens)
    for i, token in enumerate(tokens):
        if offsets is not None:
            start, end = offsets[i]
            if start == end:  # [CLS], [SEP], padding
                ids.append(-1)
                continue
            if last_end is None or start > last_end:  # a gap is white space: tokenizers drop it
                word += 1
            last_end = end
        elif word < 0 or (token.startswith("▁") if sentencepiece else not token.startswith("##")):
            word += 1
        ids.append(word)
    return ids


def _words(tokens: list[str], ids: list[int]) -> list[tuple[str, int]]:
    """(lower-case text, first token) of each word."""
    words: dict[int, list] = {}
    for i, (token, w) in enumerate(zip(tokens, ids)):
        if w < 0:
            continue
        if w not in words:
            words[w] = ["", i]
        words[w][0] += _piece(token).lower()
    return [(text, first) for text, first in (words[w] for w in sorted(words))]


def word_value(word: str) -> float:
    """The number a whole word writes ("7", "seven", "twenty-one", "12,"), else 0; at most CAP."""
    core = word.strip(PUNCTUATION)
    if core.isdigit():
        return min(float(core), CAP)
    if "-" in core:
        tens, _, unit = core.partition("-")
        if tens in TENS and unit in UNITS[1:10]:
            return float(TENS[tens] + UNITS.index(unit))
    return WORDS.get(core, 0.0)


def _enumerations(words: list[str]) -> list[tuple[int, int]]:
    """(word index of the closing conjunction, number of items) of each enumeration "A, B, C and D".

    Items are at most MAX_ITEM_WORDS words, separated by commas (a comma ends its word) and closed by a
    conjunction; ", and" is one separator. A conjunction with no comma before it joins two items
    ("in Spanish and Arabic"), except right after a list with commas it closed ("a, b & c and tag them"):
    after a lone "A and B" it does ("summarize the report and translate it into French and German")."""
    found = []
    separators = 0   # separators of the enumeration being read
    since = 0        # words since the last separator
    closed = False   # the item being read is the last one of a list with commas just closed
    for i, word in enumerate(words):
        if word.strip(PUNCTUATION) in CONJUNCTIONS:
            joined = since == 0 and separators > 0  # ", and"
            listed = separators > 0 and 0 < since <= MAX_ITEM_WORDS  # "A, B and C"
            lone = separators == 0 and since > 0 and not closed  # "A and B": where A starts is not known
            if joined or listed or lone:
                found.append((i, separators + (1 if joined else 2)))
            closed = joined or listed  # a list's last item is short; "A and B" ends anywhere
            separators, since = 0, 0
            continue
        since += 1
        if since > MAX_ITEM_WORDS:
            separators, closed = 0, False  # too far from the last separator: a new sentence part
        if word.endswith(COMMAS):
            separators, since, closed = (separators + 1 if since <= MAX_ITEM_WORDS else 1), 0, False
    return found


def token_numbers(tokens: list[str], ids: list[int]) -> list[tuple[float, float]]:
    """Per token: (the number its word writes, on the word's first token; the size of the enumeration
    it closes, on the closing conjunction's first token). "half a dozen" puts 6 on "dozen"."""
    words = _words(tokens, ids)
    out = [(0.0, 0.0)] * len(tokens)
    texts = [w for w, _ in words]
    for k, (word, first) in enumerate(words):
        value = word_value(word)
        if word.strip(PUNCTUATION) == "dozen" and k >= 2 and texts[k - 2:k] == ["half", "a"]:
            value = 6.0
        if value:
            out[first] = (value, 0.0)
    for k, items in _enumerations(texts):
        first = words[k][1]
        out[first] = (out[first][0], float(items))
    return out


def reader_note(trained_with: int | None) -> str | None:
    """What a planner trained with reader version `trained_with` (None: not recorded, or trained without the
    reader) should tell its user under this code's `READER_VERSION`; None when nothing differs that it knows of."""
    if trained_with is None or trained_with == READER_VERSION:
        return None
    return (f"this planner learnt from the numerals reader of version {trained_with}, and this code reads numbers "
            f"and lists with version {READER_VERSION}: its plans of requests that count things may differ from its "
            f"validation figures; train it again to plan as it was measured")
