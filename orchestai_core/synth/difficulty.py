"""How hard a synthetic request is: one number in (0, 1) per request, shared by all its steps.

Part of it shows in the request (its domain, the mode its wording signals, how many items it branches
over), part is latent (a normal draw per request, seen by no one but the generator). It is kept in the
log's `meta.difficulty`, so the true success probability of any worker on any step can be recomputed.
"""

from __future__ import annotations

import math
import random

CENTRE = -1.2  # logit of a typical request's difficulty: most requests are easy, a tail is hard
DOMAIN_SHIFT = {
    "legal": 1.4, "finance": 0.9, "research": 0.8, "code": 0.6, "data_analysis": 0.4, "devops": 0.3,
    "documents": 0.0, "translation": 0.0, "product": 0.0, "education": -0.3, "hr": -0.4, "media": -0.5,
    "sales": -0.6, "marketing": -0.8, "customer_support": -0.9,
}
MODE_SHIFT = {"standard": 0.0, "budget": -0.4, "urgent": 0.3, "premium": 0.8}
ITEM_SLOPE, ITEM_PIVOT = 0.15, 4  # each branch item beyond the pivot makes the request harder
LATENT_SD = 1.1
DIGITS = 4  # difficulty is rounded so that the value kept in the log is the one outcomes were drawn from


def visible_logit(domain: str, mode: str, n_items: int) -> float:
    """The part of a request's difficulty (on the logit scale) that its wording reveals."""
    return CENTRE + DOMAIN_SHIFT.get(domain, 0.0) + MODE_SHIFT[mode] + ITEM_SLOPE * (n_items - ITEM_PIVOT)


def request_difficulty(domain: str, mode: str, n_items: int, latent: float) -> float:
    """Difficulty in (0, 1) of a request: the visible part plus `latent` (a standard normal draw)."""
    z = visible_logit(domain, mode, n_items) + LATENT_SD * latent
    return round(1.0 / (1.0 + math.exp(-z)), DIGITS)


def draw_difficulty(domain: str, mode: str, n_items: int, rng: random.Random) -> float:
    """A request's difficulty with its latent part drawn from `rng`."""
    return request_difficulty(domain, mode, n_items, rng.gauss(0.0, 1.0))
