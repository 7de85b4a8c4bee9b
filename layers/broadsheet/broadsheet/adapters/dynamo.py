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
- alias claim: `pk = alias#<old slug>`, `sk = claim#<slug>`; an article that names the old
  address in its aliases, with the claimer's live flag and sort key. Where the address leads is
  decided from the articles themselves by `broadsheet.aliases.redirect_target`, whatever the
  order in which the claims were made; a claim is rewritten whenever its claimer goes live or
  leaves, or is re-dated, so that its stream record has the alias synced again. (An article
  created or deleted at the address itself is planned from its own item.)

An article, its entries and the counters of the listings it joins or leaves change in one
transaction conditioned on the article item's revision, so concurrent ingests of one key can
never leave entries of a lost write behind, and a counter moves exactly when an entry comes or
goes. A change too large for one transaction (an article moved out of dozens of listings at
once) goes in two: first the article leaves the listings it will not stay in, then it takes its
new form; each is a consistent state, and each plans its own pages.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.aliases import redirect_target
from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.errors import TransientError
from broadsheet.index.entries import Byline, Entry, entries_of, sort_key
from broadsheet.index.ports import IndexedArticle, ListingSlice, SourceVersion

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ARTICLE_SK = "article"
PROFILE_SK = "profile"
MONTHS_PK = "months"
COUNT_SK = "count"
COUNTER_PREFIX = "count#"
CLAIM_PREFIX = "claim#"
_BATCH_GET = 100
_TRANSACTION_LIMIT = 100
# How many entries a page of a positional count reads from each end of a listing.
_COUNT_PAGE = 200
_ser = TypeSerializer()
_de = TypeDeserializer()


def article_pk(slug: str) -> str:
    """The partition key of an article item."""
    return f"article#{slug}"


def listing_pk(listing: str) -> str:
    """The partition key of a listing's entries."""
    return f"listing#{listing}"


def counter_pk(listing: str) -> str:
    """The partition key of a listing's counter (but for a month's)."""
    return f"{COUNTER_PREFIX}{listing}"


def counter_key(listing: str) -> tuple[str, str]:
    """The key of the item counting a listing's entries: a month's is its archive month item."""
    if listing.startswith("month:"):
        return MONTHS_PK, listing.removeprefix("month:")
    return counter_pk(listing), COUNT_SK


def alias_pk(old_slug: str) -> str:
    """The partition key of an alias item."""
    return f"alias#{old_slug}"


def profile_pk(author_slug: str) -> str:
    """The partition key of an author profile item."""
    return f"author#{author_slug}"


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items() if v is not None}


def _pack(doc: str) -> bytes:
    # Compressed so that a 200 KB body with many escaped characters still fits an item.
    return zlib.compress(doc.encode("utf-8"), 6)


def _unpack(value: Any) -> str:
    raw = value.value if hasattr(value, "value") else value
    return zlib.decompress(bytes(raw)).decode("utf-8")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


def entry_item(entry: Entry) -> dict[str, Any]:
    """The DynamoDB item of a listing entry."""
    return _item(
        {
            "pk": listing_pk(entry.listing),
            "sk": entry.sort_key,
            "slug": entry.slug,
            "title": entry.title,
            "teaser": entry.teaser,
            "authors": [{"name": b.name, "slug": b.slug} for b in entry.authors],
            "published": entry.published,
            "modified": entry.modified,
        }
    )


def entry_from_item(item: dict[str, Any]) -> Entry:
    """A listing entry from its DynamoDB item (either wire or plain form)."""
    plain = _plain(item) if "pk" in item and isinstance(item["pk"], dict) else item
    return Entry(
        listing=str(plain["pk"]).removeprefix("listing#"),
        sort_key=str(plain["sk"]),
        slug=str(plain["slug"]),
        title=str(plain["title"]),
        teaser=str(plain.get("teaser", "")),
        authors=tuple(Byline(str(a["name"]), str(a["slug"])) for a in plain["authors"]),
        published=str(plain["published"]),
        modified=str(plain.get("modified") or plain["published"]),
    )


def article_from_item(item: dict[str, Any]) -> IndexedArticle:
    """An indexed article from its DynamoDB item (wire form)."""
    plain = _plain(item)
    return IndexedArticle(
        article=Article.model_validate_json(_unpack(plain["doc"])),
        live=bool(plain["live"]),
        sort_key=str(plain["sort_key"]),
        listings=tuple(str(x) for x in plain.get("listings", [])),
        source=SourceVersion(str(plain["source_version"]), int(plain["source_modified"])),
        rev=int(plain["rev"]),
    )


class DynamoIndex:
    """The index, stored in one DynamoDB table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._db = client
        self._table = table

    # -- reads -----------------------------------------------------------------------

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article, or None if the index does not hold it."""
        item = self._get(article_pk(slug), ARTICLE_SK)
        return article_from_item(item) if item else None

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """An author's profile, or None."""
        item = self._get(profile_pk(author_slug), PROFILE_SK)
        return AuthorProfile.model_validate_json(_unpack(_de.deserialize(item["doc"]))) if item else None

    def get_profile_source(self, author_slug: str) -> SourceVersion | None:
        """Which version of a profile file the index holds, if any."""
        item = self._get(profile_pk(author_slug), PROFILE_SK)
        if not item:
            return None
        plain = _plain(item)
        return SourceVersion(str(plain["source_version"]), int(plain["source_modified"]))

    def get_articles(self, slugs: list[str]) -> dict[str, IndexedArticle]:
        """The indexed articles among `slugs`, by slug, read in batches."""
        found: dict[str, IndexedArticle] = {}
        wanted = list(dict.fromkeys(slugs))
        for start in range(0, len(wanted), _BATCH_GET):
            chunk = wanted[start : start + _BATCH_GET]
            keys = [_item({"pk": article_pk(s), "sk": ARTICLE_SK}) for s in chunk]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._call(lambda r=request: self._db.batch_get_item(RequestItems=r))
                for item in response.get("Responses", {}).get(self._table, []):
                    indexed = article_from_item(dict(item))
                    found[indexed.article.slug] = indexed
                request = dict(response.get("UnprocessedKeys") or {})
        return found

    def months(self) -> list[tuple[str, int]]:
        """Every archive month with live articles and how many, oldest first."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": MONTHS_PK}},
        }
        months: list[tuple[str, int]] = []
        while True:
            response = self._call(lambda: self._db.query(ConsistentRead=True, **params))
            for item in response.get("Items", []):
                plain = _plain(dict(item))
                if int(plain.get("count", 0)) > 0:
                    months.append((str(plain["sk"]), int(plain["count"])))
            last = response.get("LastEvaluatedKey")
            if not last:
                return months
            params["ExclusiveStartKey"] = last

    def alias_target(self, old_slug: str) -> str | None:
        """The slug an old address leads to, by the rule of `broadsheet.aliases`, or None.

        Read from the articles themselves (the one at the address, and each claimer), never from
        the claims' copies of their state, which only exist to wake the planner."""
        claimers = self.alias_claimers(old_slug)
        held = self.get_articles([old_slug, *claimers])
        return redirect_target(old_slug, held.get(old_slug), [held[s] for s in claimers if s in held])

    def alias_claimers(self, old_slug: str) -> list[str]:
        """The slugs of the articles whose claims on an old address the index holds, sorted."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :claim)",
            "ExpressionAttributeValues": {":pk": {"S": alias_pk(old_slug)}, ":claim": {"S": CLAIM_PREFIX}},
            "ProjectionExpression": "sk",
            "ConsistentRead": True,
        }
        found: list[str] = []
        while True:
            response = self._call(lambda: self._db.query(**params))
            found += [str(i["sk"]["S"]).removeprefix(CLAIM_PREFIX) for i in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if not last:
                return sorted(found)
            params["ExclusiveStartKey"] = last

    def count(self, listing: str) -> int:
        """How many entries a listing holds: its counter, one item read at any length."""
        item = self._get(*counter_key(listing))
        return int(_plain(item).get("count", 0)) if item else 0

    def position(self, listing: str, sort_key: str) -> int:
        """How many entries of a listing sort before `sort_key`.

        Counted from both ends at once, a page from each in turn, until one end reaches the key:
        the count reads about twice the entries between the key and the nearer end (a new
        article's position costs one page at any listing length), never the whole listing."""
        older = self._key_condition(listing, before=sort_key)
        newer = self._key_condition(listing, from_=sort_key)
        newer["ScanIndexForward"] = False
        counted = {"older": 0, "newer": 0}
        while True:
            for side, params in (("newer", newer), ("older", older)):
                page = {**params, "Select": "COUNT", "ConsistentRead": True, "Limit": _COUNT_PAGE}
                response = self._call(lambda p=page: self._db.query(**p))
                counted[side] += int(response.get("Count", 0))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return counted["older"] if side == "older" else self.count(listing) - counted["newer"]
                params["ExclusiveStartKey"] = last

    def newest(self, listing: str, limit: int) -> ListingSlice:
        """The newest `limit` entries of a listing (counted only when there may be more)."""
        items = self._query(listing, forward=False, limit=limit)
        total = len(items) if len(items) < limit else self.count(listing)
        return ListingSlice(tuple(entry_from_item(i) for i in items), total)

    def span(self, listing: str, start: int, stop: int) -> ListingSlice:
        """Entries at positions [start, stop) counted from the oldest, returned newest first.

        DynamoDB cannot skip to a position: the entries are read from the nearer end of the
        listing, so that the newest pages (those a publish changes) cost a few items to read at
        any listing length, not the whole listing."""
        total = self.count(listing)
        stop = min(stop, total)
        if start >= stop:
            return ListingSlice((), total)
        if start < total - stop:
            items = self._query(listing, forward=True, limit=stop)[start:]
        else:
            items = self._query(listing, forward=False, limit=total - start)[total - stop :]
        entries = sorted((entry_from_item(i) for i in items), key=lambda e: e.sort_key, reverse=True)
        return ListingSlice(tuple(entries), total)

    def live_article_slugs(self) -> list[str]:
        """Slugs of every article readers may see, sorted."""
        return sorted(str(item["slug"]) for item in self._article_summaries() if item.get("live"))

    def listing_ids(self) -> list[str]:
        """Every listing that has at least one entry, sorted."""
        return sorted({str(x) for item in self._article_summaries() for x in item.get("listings", [])})

    def sources(self) -> dict[str, str]:
        """The content key and source version of every indexed article and profile."""
        found: dict[str, str] = {}
        for item in self._scan("sk IN (:article, :profile)", "pk, source_version"):
            pk = str(item["pk"])
            prefix = "articles/" if pk.startswith("article#") else "authors/"
            found[f"{prefix}{pk.split('#', 1)[1]}.json"] = str(item["source_version"])
        return found

    def alias_targets(self) -> dict[str, str]:
        """Every old address that redirects and the slug it leads to, by the same rule as
        `alias_target` (`broadsheet.aliases.redirect_target`): what the edge's store should hold."""
        items = self._scan("begins_with(pk, :alias)", "pk")
        olds = sorted({str(item["pk"]).split("#", 1)[1] for item in items})
        return {old: target for old in olds if (target := self.alias_target(old)) is not None}

    def recount(self) -> list[str]:
        """Set each listing counter that disagrees with its listing's entries to their number (a
        table written before the counters, or edited by hand); the listings whose counter moved.

        A counter moved by a publish while its entries were being counted is left alone (the
        update is conditioned on the value read first): that publish moved entries and counter
        together, and the next run looks again."""
        held: dict[str, int] = {}
        for item in self._scan(
            "begins_with(pk, :counter) OR pk = :months", "pk, sk, #count", {"#count": "count"}
        ):
            pk, sk = str(item["pk"]), str(item["sk"])
            listing = "month:" + sk if pk == MONTHS_PK else pk.removeprefix(COUNTER_PREFIX)
            held[listing] = int(item.get("count", 0))
        moved: list[str] = []
        for listing in sorted(set(self.listing_ids()) | set(held)):
            counted = self._count_entries(listing)
            if counted == held.get(listing, 0):
                continue
            pk, sk = counter_key(listing)
            seen = held.get(listing)
            try:
                self._db.update_item(
                    TableName=self._table,
                    Key=_item({"pk": pk, "sk": sk}),
                    UpdateExpression="SET #count = :counted",
                    ConditionExpression="attribute_not_exists(#count)" if seen is None else "#count = :seen",
                    ExpressionAttributeNames={"#count": "count"},
                    ExpressionAttributeValues=_item(
                        {":counted": counted} | ({} if seen is None else {":seen": seen})
                    ),
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    continue
                raise TransientError(f"index recount failed: {exc}") from exc
            except BotoCoreError as exc:
                raise TransientError(f"index recount failed: {exc}") from exc
            moved.append(listing)
        return moved

    def _count_entries(self, listing: str) -> int:
        """How many entries a listing holds, counted one by one (reconcile's check of a counter)."""
        params = self._key_condition(listing)
        total = 0
        while True:
            response = self._call(lambda: self._db.query(Select="COUNT", ConsistentRead=True, **params))
            total += int(response.get("Count", 0))
            last = response.get("LastEvaluatedKey")
            if not last:
                return total
            params["ExclusiveStartKey"] = last

    def _article_summaries(self) -> list[dict[str, Any]]:
        return self._scan("sk = :article", "slug, live, listings")

    def _scan(
        self, condition: str, projection: str, names: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        values = {
            ":article": {"S": ARTICLE_SK},
            ":profile": {"S": PROFILE_SK},
            ":counter": {"S": COUNTER_PREFIX},
            ":months": {"S": MONTHS_PK},
            ":alias": {"S": "alias#"},
        }
        params: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": condition,
            "ProjectionExpression": projection,
            "ExpressionAttributeValues": {k: v for k, v in values.items() if k in condition},
        }
        if names:
            params["ExpressionAttributeNames"] = names
        found: list[dict[str, Any]] = []
        while True:
            response = self._call(lambda: self._db.scan(**params))
            found += [_plain(dict(i)) for i in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if not last:
                return found
            params["ExclusiveStartKey"] = last

    # -- writes ----------------------------------------------------------------------

    def put_article(
        self, article: Article, source: SourceVersion, now: datetime, expected: IndexedArticle | None
    ) -> bool:
        """Store an article and its listing entries atomically; False if `expected` is stale."""
        entries = entries_of(article, now)
        listings = [e.listing for e in entries]
        new_keys = {(listing_pk(e.listing), e.sort_key) for e in entries}
        rev = (expected.rev if expected else 0) + 1
        item = self._article_item(article, source, listings, sort_key(article), rev)
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        put.update(self._revision_condition(expected))
        actions: list[dict[str, Any]] = [{"Put": put}]
        actions += [{"Put": {"TableName": self._table, "Item": entry_item(entry)}} for entry in entries]
        if expected:
            actions += self._entry_deletes(expected, list(expected.listings), skip=new_keys)
        actions += self._listing_counts(expected.listings if expected else (), listings)
        staying = [x for x in expected.listings if x in listings] if expected else []
        if expected and len(actions) > _TRANSACTION_LIMIT and len(staying) < len(expected.listings):
            # Once unlisted, the rest fits: its article, its entries, and at most one delete or
            # one counter for each (1 + 2 × 33 actions at the article format's limits).
            if not self._unlist(expected, staying):
                return False
            return self.put_article(article, source, now, replace(expected, listings=tuple(staying), rev=rev))
        live, key = bool(listings), sort_key(article)
        aliases = self._alias_changes(article.slug, expected, article.aliases, live, key)
        return self._transact_with_aliases(actions, aliases)

    def _unlist(self, expected: IndexedArticle, staying: list[str]) -> bool:
        """Take an article out of every listing but `staying`, keeping all else it holds (its
        document and source version too, so that ingest still sees the new file as news)."""
        item = self._article_item(
            expected.article, expected.source, staying, expected.sort_key, expected.rev + 1
        )
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        put.update(self._revision_condition(expected))
        leaving = [x for x in expected.listings if x not in staying]
        actions: list[dict[str, Any]] = [{"Put": put}, *self._entry_deletes(expected, leaving)]
        return self._transact(actions + self._listing_counts(expected.listings, staying))

    @staticmethod
    def _article_item(
        article: Article, source: SourceVersion, listings: list[str], key: str, rev: int
    ) -> dict[str, Any]:
        """An article's item: live exactly when it has entries."""
        return _item(
            {
                "pk": article_pk(article.slug),
                "sk": ARTICLE_SK,
                "slug": article.slug,
                "doc": _pack(article.model_dump_json()),
                "live": bool(listings),
                "sort_key": key,
                "listings": listings,
                "source_version": source.version_id,
                "source_modified": source.modified_ms,
                "rev": rev,
            }
        )

    def _entry_deletes(
        self, expected: IndexedArticle, listings: list[str], skip: set[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]:
        """Deletes of an indexed article's entries in `listings` (but for the keys in `skip`)."""
        keys = [(listing_pk(x), expected.sort_key) for x in listings]
        return [
            {"Delete": {"TableName": self._table, "Key": _item({"pk": pk, "sk": sk})}}
            for pk, sk in keys
            if (pk, sk) not in (skip or set())
        ]

    def _listing_counts(self, old: Iterable[str], new: Iterable[str]) -> list[dict[str, Any]]:
        """Counter updates for the listings an article leaves and joins."""
        left, joined = set(old) - set(new), set(new) - set(old)
        return [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _item(dict(zip(("pk", "sk"), counter_key(listing), strict=True))),
                    "UpdateExpression": "ADD #count :n",
                    "ExpressionAttributeNames": {"#count": "count"},
                    "ExpressionAttributeValues": {":n": {"N": str(delta)}},
                }
            }
            for listing, delta in sorted([(x, -1) for x in left] + [(x, 1) for x in joined])
        ]

    def _alias_changes(
        self, slug: str, expected: IndexedArticle | None, aliases: list[str], live: bool, key: str
    ) -> list[dict[str, Any]]:
        """An article's alias claims to write and remove as it goes from `expected` to claiming
        `aliases`, `live` or not, at sort key `key`. Every claim is rewritten when the article goes
        live or leaves, or is re-dated: the claims' stream records have each alias synced again."""
        old = set(expected.article.aliases) if expected else set()
        new = set(aliases)
        moved = expected is None or (expected.live, expected.sort_key) != (live, key)
        actions: list[dict[str, Any]] = []
        for claimed in sorted(new if moved else new - old):
            item = _item({"pk": alias_pk(claimed), "sk": CLAIM_PREFIX + slug, "live": live, "sort_key": key})
            actions.append({"Put": {"TableName": self._table, "Item": item}})
        for gone in sorted(old - new):
            claim = _item({"pk": alias_pk(gone), "sk": CLAIM_PREFIX + slug})
            actions.append({"Delete": {"TableName": self._table, "Key": claim}})
        return actions

    def _transact_with_aliases(self, actions: list[dict[str, Any]], aliases: list[dict[str, Any]]) -> bool:
        """One transaction when it fits DynamoDB's limit; else the aliases follow in their own."""
        if len(actions) + len(aliases) <= _TRANSACTION_LIMIT:
            return self._transact(actions + aliases)
        if not self._transact(actions):
            return False
        if aliases:
            self._transact(aliases)
        return True

    def delete_article(self, expected: IndexedArticle) -> bool:
        """Remove an article and its entries atomically; False if `expected` is stale."""
        delete: dict[str, Any] = {
            "TableName": self._table,
            "Key": _item({"pk": article_pk(expected.article.slug), "sk": ARTICLE_SK}),
        }
        delete.update(self._revision_condition(expected))
        actions: list[dict[str, Any]] = [{"Delete": delete}]
        actions += self._entry_deletes(expected, list(expected.listings))
        actions += self._listing_counts(expected.listings, ())
        aliases = self._alias_changes(expected.article.slug, expected, [], False, expected.sort_key)
        return self._transact_with_aliases(actions, aliases)

    def put_profile(self, author_slug: str, profile: AuthorProfile, source: SourceVersion) -> None:
        """Store an author's profile."""
        item = _item(
            {
                "pk": profile_pk(author_slug),
                "sk": PROFILE_SK,
                "doc": _pack(profile.model_dump_json()),
                "source_version": source.version_id,
                "source_modified": source.modified_ms,
            }
        )
        self._call(lambda: self._db.put_item(TableName=self._table, Item=item))

    def delete_profile(self, author_slug: str) -> None:
        """Remove an author's profile."""
        key = _item({"pk": profile_pk(author_slug), "sk": PROFILE_SK})
        self._call(lambda: self._db.delete_item(TableName=self._table, Key=key))

    # -- plumbing --------------------------------------------------------------------

    @staticmethod
    def _revision_condition(expected: IndexedArticle | None) -> dict[str, Any]:
        if expected is None:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        return {
            "ConditionExpression": "rev = :rev",
            "ExpressionAttributeValues": {":rev": {"N": str(expected.rev)}},
        }

    def _transact(self, actions: list[dict[str, Any]]) -> bool:
        try:
            self._db.transact_write_items(TransactItems=cast(Any, actions))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons", [])
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons:
                    return False
            raise TransientError(f"index write failed: {code}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"index write failed: {exc}") from exc
        return True

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self._call(
            lambda: self._db.get_item(
                TableName=self._table, Key=_item({"pk": pk, "sk": sk}), ConsistentRead=True
            )
        )
        item = response.get("Item")
        return dict(item) if item else None

    def _query(
        self, listing: str, *, forward: bool, limit: int | None = None, between: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        params = self._key_condition(listing, between=between)
        params["ScanIndexForward"] = forward
        items: list[dict[str, Any]] = []
        while True:
            if limit is not None:
                params["Limit"] = limit - len(items)
            response = self._call(lambda: self._db.query(ConsistentRead=True, **params))
            items += [dict(i) for i in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if not last or (limit is not None and len(items) >= limit):
                return items
            params["ExclusiveStartKey"] = last

    def _key_condition(
        self,
        listing: str,
        *,
        before: str | None = None,
        from_: str | None = None,
        between: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {":pk": {"S": listing_pk(listing)}}
        condition = "pk = :pk"
        if before is not None:
            condition += " AND sk < :before"
            values[":before"] = {"S": before}
        if from_ is not None:
            condition += " AND sk >= :from"
            values[":from"] = {"S": from_}
        if between is not None:
            condition += " AND sk BETWEEN :lo AND :hi"
            values[":lo"] = {"S": between[0]}
            values[":hi"] = {"S": between[1]}
        return {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    @staticmethod
    def _call(fn: Any) -> Any:
        try:
            return fn()
        except (ClientError, BotoCoreError) as exc:
            raise TransientError(f"index request failed: {exc}") from exc
