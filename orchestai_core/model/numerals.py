"""The numbers written in an instruction, token by token: "seven", "7", "a dozen", "twenty-one".

Requests say how many things to work on ("translate it into three languages", "reconcile 12 files");
the planner must repeat a branch that many times. A pretrained encoder tells "seven" from "eight" but
does not expose seven as a quantity, so each token also gets the value it writes (0 when it writes
none) and the model's count reader learns which of those values count something.
"""

from __future__ import annotations

UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
WORDS = {**{w: float(n) for n, w in enumerate(UNITS)}, **{w: float(n) for w, n in TENS.items()},
         "dozen": 12.0, "couple": 2.0, "pair": 2.0, "both": 2.0, "single": 1.0}


def _word(token: str) -> str:
    """A token as a lower-case word: without WordPiece's "##" or SentencePiece's "▁" marker."""
    return token.lower().removeprefix("▁").removeprefix("##")


def token_values(tokens: list[str], cap: float = 100.0) -> list[float]:
    """Per token (WordPiece or SentencePiece strings), the number it writes, else 0; at most `cap`.

    A compound ("twenty - one") puts its value on its first token; "half a dozen" puts 6 on "dozen";
    digits split into pieces ("12", "##5") are read whole."""
    words = [_word(t) for t in tokens]
    values = [0.0] * len(tokens)
    i = 0
    while i < len(tokens):
        word = words[i]
        if word.isdigit() and not tokens[i].startswith("##"):
            end = i + 1
            while end < len(tokens) and tokens[end].startswith("##") and words[end].isdigit():
                end += 1
            values[i] = min(float("".join(words[i:end])), cap)
            i = end
            continue
        if word in TENS and i + 2 < len(tokens) and words[i + 1] == "-" and words[i + 2] in UNITS[1:10]:
            values[i] = min(TENS[word] + float(UNITS.index(words[i + 2])), cap)
            i += 3
            continue
        if word in WORDS:
            half = word == "dozen" and i >= 2 and words[i - 2:i] == ["half", "a"]
            values[i] = min(6.0 if half else WORDS[word], cap)
        i += 1
    return values


COMMAS = {",", ";"}
CONJUNCTIONS = {"and", "&", "or", "plus"}
MAX_ITEM_TOKENS = 5  # a list item is a few words; a longer stretch between separators is a clause


def list_sizes(tokens: list[str]) -> list[float]:
    """Per token, the number of items of the enumeration it belongs to, else 0.

    An enumeration is "A, B, C and D" (or "A and B"): items of at most a few tokens separated by commas,
    the last one after a conjunction (", and" is one separator). Its separators and inner items are
    marked with its size; where the first item starts and the last ends is not known, so they are not."""
    words = [_word(t) for t in tokens]
    sizes = [0.0] * len(tokens)
    run: list[int] = []  # separator positions of the enumeration being read

    def close(items: int) -> None:
        for k in range(run[0], run[-1] + 1):
            sizes[k] = float(items)

    for i, word in enumerate(words):
        if word not in COMMAS and word not in CONJUNCTIONS:
            continue
        if run and i - run[-1] - 1 > MAX_ITEM_TOKENS:
            run = []  # too far from the last separator: a new sentence part
        if word in CONJUNCTIONS:
            joined = bool(run) and run[-1] == i - 1 and words[i - 1] in COMMAS  # ", and"
            run.append(i)
            close(len(run) + (0 if joined else 1))
            run = []
        else:
            run.append(i)
    return sizes
