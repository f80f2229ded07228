"""Wording of synthetic instructions: item lists and counts, openers, add-on clauses, context and closers.

The words vary (synonyms, politeness, word order, terse or chatty) while everything that shapes the
workflow — the items and their order, the count, the add-ons and the policy mode — stays readable.
"""

from __future__ import annotations

import random

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve")
IDIOMS = {2: ("a couple of", "a pair of"), 6: ("half a dozen",)}

OPENERS = ("", "", "", "Please ", "Please ", "Could you ", "Can you ", "Could you please ", "I need you to ",
           "Hey, please ", "We need to ", "Would you ", "Task: ", "I'd like you to ", "Quick one: please ",
           "Kindly ", "Help me ", "I want you to ", "Need you to ", "Your job: ", "Pls ", "When you get a chance, ")
QUESTION_OPENERS = ("Could you ", "Can you ", "Would you ", "Could you please ")
GREETINGS = ("Hi! ", "Hello! ", "Hey team! ", "Hi there. ", "Good morning! ")
STATEMENT_OPENERS = ("", "", "", "", "So, ", "Okay, ", "Right, ")
QUESTION_STATEMENT_OPENERS = ("", "", "", "Quick question: ", "So, ", "Question: ")
NOT_BEFORE_ME = ("Help me ", "We need to ")  # "help me give me …" does not read
FRONTED_OPENERS = ("", "", "Task: ", "Your job: ")  # for asks that open with "for …, "
# Add-on clauses: joined to the request inline, or as sentences of their own.
INLINE_JOINS = (" and ", ", then ", ", and then ", " and also ", ", and afterwards ")
SENTENCE_JOINS = ("Then ", "After that, ", "Also ", "Once that's done, ", "When it's ready, ", "Please also ",
                  "Next, ", "And ")
LAST_SENTENCE_JOINS = ("Finally, ", "Lastly, ", "To finish, ")
# Context sentences by the policy mode they imply (the expert policy reads the mode, the planner the words).
CONTEXT: dict[str, tuple[str, ...]] = {
    "standard": ("", "", "", "", "Background: this came up in the last retro.",
                 "Keep in mind the audience is non-technical.", "This is part of the weekly routine.",
                 "It's for the usual Monday update.", "Nothing special, just the regular process.",
                 "We do this every month.", "Context: the team asked for it yesterday."),
    "budget": ("We are short on budget, so keep costs low.", "Use the cheapest option that works.",
               "Money is tight this quarter, go cheap.", "Please keep the spend minimal.",
               "Budget is very limited, so cost matters most.", "Good enough is fine, don't overspend.",
               "Keep it low-cost please.", "We can't spend much on this one."),
    "urgent": ("It is urgent.", "We need this within the hour.", "Speed matters more than polish here.",
               "This is blocking a release, hurry.", "Time-critical: the fastest turnaround wins.",
               "I need it in the next 30 minutes.", "Rush job, please prioritise speed.",
               "The deadline is in an hour.", "ASAP please."),
    "premium": ("This is for the board meeting on Monday.", "The client is very important, quality first.",
                "Our CEO will read this, so it has to be perfect.", "Accuracy matters more than cost here.",
                "Use the best models available, cost is not an issue.", "This goes to a key customer, no mistakes.",
                "Top quality please, it will be published.", "This is high stakes, so be thorough."),
}
# Closers carry no mode signal ("ASAP" lives with the urgent context sentences).
CLOSERS = ("", "", "", "", "Thanks!", "Thank you.", "Keep it concise.", "Due by Friday.",
           "Let me know if anything is unclear.", "Cheers.", "Thanks in advance.", "Much appreciated!",
           "Ping me when it's done.", "Thanks, Sam", "Appreciate it.")


def join_items(items: list[str], rng: random.Random) -> str:
    """'A', 'A and B', 'A, B and C' (sometimes with an Oxford comma or '&')."""
    if len(items) == 1:
        return items[0]
    last = rng.choice((" and ", ", and ", " & ")) if len(items) > 2 else rng.choice((" and ", " & "))
    return ", ".join(items[:-1]) + last + items[-1]


def number_phrase(n: int, rng: random.Random) -> str:
    """`n` as people write it: 'three', '3', sometimes 'half a dozen' or 'a couple of'."""
    roll = rng.random()
    if n in IDIOMS and roll < 0.15:
        return rng.choice(IDIOMS[n])
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) and roll < 0.6 else str(n)


def parse_number(text: str) -> int:
    """The count written by `number_phrase` ('three', '3', 'half a dozen')."""
    for n, idioms in IDIOMS.items():
        if text in idioms:
            return n
    return int(text) if text.isdigit() else NUMBER_WORDS.index(text)


def count_phrase(n: int, noun: str, rng: random.Random) -> str:
    """'three vendors', '3 vendors' or 'half a dozen vendors'."""
    return f"{number_phrase(n, rng)} {noun}"


def items_phrase(names: list[str], noun: str, countable: bool, rng: random.Random) -> tuple[str, bool]:
    """How an instruction names its branch items: a list, a count, or both; True when only counted."""
    roll = rng.random()
    if countable and roll < 0.3:
        return count_phrase(len(names), noun, rng), True
    if roll < 0.45 and len(names) > 1:
        listed = join_items(names, rng)
        counted = count_phrase(len(names), noun, rng)
        if counted[0].isdigit() or counted.split()[0] in NUMBER_WORDS and rng.random() < 0.5:
            return f"the {counted} {listed}", False
        return f"{counted} ({listed})", False
    return join_items(names, rng), False


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _addon_text(clauses: list[str], inline: bool, rng: random.Random) -> tuple[str, list[str]]:
    """Add-on clauses as an inline tail of the request, or as follow-up sentences."""
    if not clauses:
        return "", []
    if inline:
        return "".join(rng.choice(INLINE_JOINS) + c for c in clauses), []
    sentences = []
    for i, clause in enumerate(clauses):
        last = i == len(clauses) - 1 and len(clauses) > 1
        join = rng.choice(LAST_SENTENCE_JOINS if last and rng.random() < 0.5 else SENTENCE_JOINS)
        sentences.append(join + clause + ".")
    return "", sentences


def compose(ask: str, statement: bool, clauses: list[str], mode: str, rng: random.Random) -> str:
    """A whole instruction: the request (imperative `ask` or self-contained statement), add-on
    clauses in their order, a context sentence that signals `mode`, and greetings or closers."""
    question = ask.endswith("?")
    inline = not statement and not question and rng.random() < 0.6
    tail, follow_ups = _addon_text(clauses, inline, rng)
    if statement:
        opener = rng.choice(QUESTION_STATEMENT_OPENERS if question else STATEMENT_OPENERS)
        if opener.endswith(", ") and not ask.startswith(("I ", "I'")):
            ask = ask[:1].lower() + ask[1:]
        core = opener + (ask if opener and not opener.endswith(": ") else _capital(ask))
        if not question and not core.endswith((".", "!")):
            core += "."
    else:
        opener = rng.choice(FRONTED_OPENERS if ask.startswith("for ") else OPENERS)
        if opener in NOT_BEFORE_ME and " me " in f" {ask} ":
            opener = ""
        body = ask.rstrip("?") + tail
        if opener in QUESTION_OPENERS:
            core = opener + body + "?"
        else:
            polite = not opener and rng.random() < 0.15
            core = (opener + body if opener else _capital(body)) + (", please" if polite else "")
            core += rng.choice((".", ".", ".", "!"))
    context, closer = rng.choice(CONTEXT[mode]), rng.choice(CLOSERS)
    if mode == "standard" and rng.random() < 0.12:  # terse, as typed into a chat box
        core = core[:1].lower() + core[1:]
        return " ".join([core, *follow_ups]) if follow_ups else core.rstrip(".!")
    before = bool(context) and rng.random() < 0.5
    parts = ([context] if before else []) + [core] + follow_ups + ([context] if context and not before else [])
    if closer:
        parts.append(closer)
    text = " ".join(parts)
    return rng.choice(GREETINGS) + text if rng.random() < 0.15 else text
