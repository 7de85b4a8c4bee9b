"""The index on DynamoDB: one item per article plus one item per listing entry.

Item layout (single table, keys `pk` and `sk`):

- article: `pk = article#<slug>`, `sk = article`; the validated document, whether it is
  live, its sort key, the listings it has entries in, the source version and a revision.
- listing entry: `pk = listing#<listing id>`, `sk = <sort key>`; what a listing shows.
- author profile: `pk = author#<slug>`, `sk = profile`.
- archive month: `pk = months`, `sk = <yyyy-mm>`; how many live articles the month holds (the
  month listing's counter).
- listing counter: `pk = count#<listing id>`, `sk = count`; how many entries any other listing
  holds, so that paging a listing never counts its entries (a count reads every one of them:
  its cost would grow with the site).
- alias claim: `pk = alias#<old address>` (an old slug, or an old path in its normal form),
  `sk = claim#<slug>`; an article that names the old address in its aliases, with the
  claimer's live flag and sort key. Where the address leads is decided from the articles
  themselves by `broadsheet.aliases.redirect_target`, whatever the order in which the claims
  were made; a claim is rewritten whenever its claimer goes live or leaves, or is re-dated, so
  that its stream record has the alias synced again. (An article
  created or deleted at the address itself is planned from its own item.)
- asked page: `pk = asked#<page id>`, `sk = asked`; a shared page asked for and not rendered
  since (`broadsheet.asked`, `adapters/dynamo/asked.py`).

An article, its entries and the counters of the listings it joins or leaves change in one
transaction conditioned on the article item's revision, so concurrent ingests of one key can
never leave entries of a lost write behind, and a counter moves exactly when an entry comes or
goes. A change too large for one transaction (an article moved out of dozens of listings at
once) goes in two: first the article leaves the listings it will not stay in, then it takes its
new form; each is a consistent state, and each plans its own pages.
"""

from __future__ import annotations

from broadsheet.adapters.dynamo.codec import (
    ARTICLE_SK,
    CLAIM_PREFIX,
    COUNTER_PREFIX,
    article_from_item,
    article_pk,
    entry_from_item,
    entry_item,
)
from broadsheet.adapters.dynamo.reads import Reads
from broadsheet.adapters.dynamo.writes import Writes

__all__ = [
    "ARTICLE_SK",
    "CLAIM_PREFIX",
    "COUNTER_PREFIX",
    "DynamoIndex",
    "article_from_item",
    "article_pk",
    "entry_from_item",
    "entry_item",
]


class DynamoIndex(Writes, Reads):
    """The index, stored in one DynamoDB table: what ingest writes, and what the planner, the
    renderer and reconcile read."""
