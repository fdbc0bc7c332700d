"""The arithmetic of "customers who bought X also bought Y".

From each customer's set of products, every pair of products bought by the
same customer is counted. For a product X, a product Y is a good suggestion
when many of X's buyers also bought Y, more than Y's popularity alone would
explain: the score is the number of shared buyers shrunk by Y's popularity
(`together / sqrt(buyers of Y)`, a cosine-like measure), so the best sellers
do not crowd out what fits. A customer's suggestions add up the scores from
every product they bought, leave out what they already have, and keep, for
each suggestion, the bought product that contributed most as its reason.

Nothing here touches the database.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

NEIGHBOURS = 20  # similar products kept per product; enough for ten suggestions
MAX_BASKET = 200  # distinct products per customer counted in pairs; wholesalers buy thousands


def similar_products(baskets: Iterable[set], *, neighbours: int = NEIGHBOURS
                     ) -> dict[object, list[tuple[object, float, int]]]:
    """For every product, the products bought by the same customers, best first.

    `baskets` holds one set of products per customer. Each entry is
    `(other product, score, customers who bought both)`. A customer with more
    than MAX_BASKET products counts only with their first MAX_BASKET in sorted
    order, which keeps the pair count quadratic in a bounded number.
    """
    buyers: Counter = Counter()
    together: dict[object, Counter] = defaultdict(Counter)
    for basket in baskets:
        items = sorted(basket, key=str)[:MAX_BASKET]
        buyers.update(items)
        for i, first in enumerate(items):
            for second in items[i + 1:]:
                together[first][second] += 1
                together[second][first] += 1
    similar = {}
    for product, others in together.items():
        ranked = sorted(
            ((other, count / math.sqrt(buyers[other] * buyers[product]), count)
             for other, count in others.items()),
            key=lambda entry: (-entry[1], -entry[2], str(entry[0])),
        )
        similar[product] = ranked[:neighbours]
    return similar


def recommend(bought: set, similar: dict, *, limit: int = 10
              ) -> list[tuple[object, float, object]]:
    """Products to suggest to a customer who bought `bought`: `(product, score, because)`.

    `because` is the bought product that contributed most to the suggestion.
    """
    scores: Counter = Counter()
    because: dict = {}
    best: dict = {}
    for product in bought:
        for other, weight, _count in similar.get(product, ()):
            if other in bought:
                continue
            scores[other] += weight
            if weight > best.get(other, 0):
                best[other] = weight
                because[other] = product
    ranked = sorted(scores.items(), key=lambda item: (-item[1], str(item[0])))
    return [(product, round(value, 4), because[product]) for product, value in ranked[:limit]]


def most_popular(baskets: Iterable[set]) -> list:
    """Products by the number of customers who bought them, most first (the baseline)."""
    counts: Counter = Counter()
    for basket in baskets:
        counts.update(basket)
    return [product for product, _count in
            sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))]
