"""Wording of synthetic instructions: lists, counts in words or digits, openers, context and closers."""

from __future__ import annotations

import random

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

OPENERS = ("", "", "Please ", "Could you ", "Can you ", "I need you to ", "Hey, please ", "We need to ",
           "Would you ", "Task: ", "I'd like you to ", "Quick one: please ")
QUESTION_OPENERS = ("Could you ", "Can you ", "Would you ")
# Context sentences by the policy mode they imply (the expert policy reads the mode, the planner the words).
CONTEXT: dict[str, tuple[str, ...]] = {
    "standard": ("", "", "", "Background: this came up in the last retro. ", "Keep in mind the audience is non-technical. ",
                 "This is part of the weekly routine. "),
    "budget": ("We are short on budget, so keep costs low. ", "Use the cheapest option that works. ",
               "Money is tight this quarter, go cheap. ", "Please keep the spend minimal. "),
    "urgent": ("It is urgent. ", "We need this within the hour. ", "Speed matters more than polish here. ",
               "This is blocking a release, hurry. "),
    "premium": ("This is for the board meeting on Monday. ", "The client is very important, quality first. ",
                "Our CEO will read this, so it has to be perfect. ", "Accuracy matters more than cost here. "),
}
CLOSERS = ("", "", "", " Thanks!", " Thank you.", " Keep it concise.", " Due by Friday.", " ASAP please.",
           " Let me know if anything is unclear.", " Cheers.")
PEOPLE = ("Maria", "the finance team", "our CEO", "the client", "Jordan", "the legal team", "the whole team", "Priya")
AUDIENCES = ("the leadership team", "the board", "new hires", "the client", "the all-hands", "the investors")


def join_items(items: list[str], rng: random.Random) -> str:
    """'A', 'A and B', 'A, B and C' (sometimes with an Oxford comma or '&')."""
    if len(items) == 1:
        return items[0]
    last = rng.choice((" and ", ", and ", " & ")) if len(items) > 2 else rng.choice((" and ", " & "))
    return ", ".join(items[:-1]) + last + items[-1]


def count_phrase(n: int, noun: str, rng: random.Random) -> str:
    """'three vendors' or '3 vendors'."""
    number = NUMBER_WORDS[n] if n < len(NUMBER_WORDS) and rng.random() < 0.6 else str(n)
    return f"{number} {noun}"


def sentence(ask: str, clauses: list[str], mode: str, rng: random.Random) -> str:
    """Wrap the core request with an opener, add-on clauses, a context sentence for `mode` and a closer."""
    opener = rng.choice(OPENERS)
    body = ask.rstrip("?") + "".join((" " if c.startswith("and ") and not i else ", ") + c
                                     for i, c in enumerate(clauses))
    is_question = opener in QUESTION_OPENERS or ask.endswith("?")
    text = opener + body if opener else body[0].upper() + body[1:]
    context, closer = rng.choice(CONTEXT[mode]), rng.choice(CLOSERS)
    terse = not context and not closer and rng.random() < 0.3  # people often skip the full stop
    text += "?" if is_question else "" if terse else rng.choice((".", ".", "!"))
    if context and rng.random() < 0.5:
        return context + text + closer
    return text + (" " + context.strip() if context else "") + closer
