"""Reads: articles, profiles, months, aliases, listing slices, and the sources reconcile compares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from broadsheet.aliases import redirect_target
from broadsheet.contract.models import AuthorProfile
from broadsheet.index.entries import Entry
from broadsheet.index.ports import IndexedArticle, ListingSlice, SourceVersion

if TYPE_CHECKING:
    pass
from broadsheet.adapters.dynamo.codec import (
    ARTICLE_SK,
    CLAIM_PREFIX,
    MONTHS_PK,
    PROFILE_SK,
    alias_pk,
    article_from_item,
    article_pk,
    entry_from_item,
    from_wire,
    profile_pk,
    to_wire,
    unpack,
    uploads_pk,
)
from broadsheet.adapters.dynamo.counters import Counters
from broadsheet.adapters.dynamo.media import Media


class Reads(Counters, Media):
    """Reads of the index: what the planner, the renderer and reconcile ask."""

    def get_article(self, slug: str) -> IndexedArticle | None:
        """The indexed article, or None if the index does not hold it."""
        item = self._get(article_pk(slug), ARTICLE_SK)
        return article_from_item(item) if item else None

    def get_profile(self, author_slug: str) -> AuthorProfile | None:
        """An author's profile, or None."""
        item = self._get(profile_pk(author_slug), PROFILE_SK)
        return (
            AuthorProfile.model_validate_json(unpack(from_wire({"doc": item["doc"]})["doc"]))
            if item
            else None
        )

    def get_profile_source(self, author_slug: str) -> SourceVersion | None:
        """Which version of a profile file the index holds, if any."""
        item = self._get(profile_pk(author_slug), PROFILE_SK)
        if not item:
            return None
        plain = from_wire(item)
        return SourceVersion(str(plain["source_version"]), int(plain["source_modified"]))

    def get_articles(self, slugs: list[str]) -> dict[str, IndexedArticle]:
        """The indexed articles among `slugs`, by slug, read in batches."""
        keys = [to_wire({"pk": article_pk(s), "sk": ARTICLE_SK}) for s in dict.fromkeys(slugs)]
        found = [article_from_item(item) for item in self._batch_get(keys)]
        return {indexed.article.slug: indexed for indexed in found}

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
                plain = from_wire(dict(item))
                if int(plain.get("count", 0)) > 0:
                    months.append((str(plain["sk"]), int(plain["count"])))
            last = response.get("LastEvaluatedKey")
            if not last:
                return months
            params["ExclusiveStartKey"] = last

    def alias_target(self, old: str) -> str | None:
        """The slug an old address leads to, by the rule of `broadsheet.aliases`, or None.

        Read from the articles themselves (the one at the address, and each claimer), never from
        the claims' copies of their state, which only exist to wake the planner."""
        claimers = self.alias_claimers(old)
        # Only an old slug can be an article's own address; an old path never is.
        held = self.get_articles([*([] if old.startswith("/") else [old]), *claimers])
        return redirect_target(old, held.get(old), [held[s] for s in claimers if s in held])

    def uploads(self, slug: str) -> dict[str, str]:
        """Version id to principal, for every indexed version of the article whose uploader was known."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": uploads_pk(slug)}},
            "ProjectionExpression": "sk, principal",
        }
        found: dict[str, str] = {}
        while True:
            response = self._call(lambda: self._db.query(**params))
            found |= {str(i["sk"]["S"]): str(i["principal"]["S"]) for i in response.get("Items", [])}
            last = response.get("LastEvaluatedKey")
            if not last:
                return found
            params["ExclusiveStartKey"] = last

    def alias_claimers(self, old: str) -> list[str]:
        """The slugs of the articles whose claims on an old address the index holds, sorted."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :claim)",
            "ExpressionAttributeValues": {":pk": {"S": alias_pk(old)}, ":claim": {"S": CLAIM_PREFIX}},
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

    def alias_targets(self) -> dict[str, str]:
        """Every old address that redirects and the slug it leads to, by the same rule as
        `alias_target` (`broadsheet.aliases.redirect_target`): what the edge's store should hold."""
        # One scan of the claims and batched reads of the articles involved, rather than a query
        # and a read per address: reconcile asks for all of them at once.
        claimers: dict[str, list[str]] = {}
        for item in self._scan("begins_with(pk, :alias)", "pk, sk"):
            old = str(item["pk"]).split("#", 1)[1]
            claimers.setdefault(old, []).append(str(item["sk"]).removeprefix(CLAIM_PREFIX))
        wanted = {slug for slugs in claimers.values() for slug in slugs}
        wanted |= {old for old in claimers if not old.startswith("/")}
        held = self.get_articles(sorted(wanted))
        found: dict[str, str] = {}
        for old in sorted(claimers):
            occupant = None if old.startswith("/") else held.get(old)
            target = redirect_target(old, occupant, [held[s] for s in sorted(claimers[old]) if s in held])
            if target is not None:
                found[old] = target
        return found

    def newest(self, listing: str, limit: int) -> ListingSlice:
        """The newest `limit` entries of a listing (counted only when there may be more)."""
        items = self._query(listing, forward=False, limit=limit)
        total = len(items) if len(items) < limit else self.count(listing)
        return ListingSlice(tuple(entry_from_item(i) for i in items), total)

    def span(self, listing: str, start: int, stop: int) -> ListingSlice:
        """Entries at positions [start, stop) counted from the oldest, returned newest first.

        DynamoDB cannot skip to a position: the entries are counted from the nearer end of the
        listing up to the page and only the page's own are read, so that the newest pages (those
        a publish changes) cost a few items at any listing length, and a page in the middle
        costs a count, not the transfer of every entry between it and the end."""
        total = self.count(listing)
        stop = min(stop, total)
        if start >= stop:
            return ListingSlice((), total)
        if start < total - stop:
            items = self._query(listing, forward=True, limit=stop - start, skip=start)
        else:
            items = self._query(listing, forward=False, limit=stop - start, skip=total - stop)
        entries = sorted((entry_from_item(i) for i in items), key=lambda e: e.sort_key, reverse=True)
        return ListingSlice(tuple(entries), total)

    def neighbours(self, listing: str, sort_key: str, limit: int, *, older: bool) -> tuple[Entry, ...]:
        """Up to `limit` entries nearest `sort_key` on one side, nearest first (not its own): one
        query of a few items, wherever the key sits in the listing."""
        if older:
            params = self._key_condition(listing, before=sort_key)
        else:
            params = self._key_condition(listing, from_=sort_key)
        params["ScanIndexForward"] = not older
        params["Limit"] = limit + 1
        response = self._call(lambda: self._db.query(ConsistentRead=True, **params))
        entries = (entry_from_item(dict(item)) for item in response.get("Items", []))
        return tuple(e for e in entries if e.sort_key != sort_key)[:limit]

    def live_article_slugs(self) -> list[str]:
        """Slugs of every article readers may see, sorted."""
        return sorted(str(item["slug"]) for item in self._article_summaries() if item.get("live"))

    def draft_article_slugs(self) -> list[str]:
        """Slugs of every article indexed as a draft, sorted."""
        return sorted(str(item["slug"]) for item in self._article_summaries() if item.get("draft"))

    def sources(self) -> dict[str, str]:
        """The content key and source version of every indexed article and profile."""
        found: dict[str, str] = {}
        for item in self._scan("sk IN (:article, :profile)", "pk, source_version, source_suffix"):
            pk = str(item["pk"])
            prefix = "articles/" if pk.startswith("article#") else "authors/"
            suffix = str(item.get("source_suffix", ".json"))
            found[f"{prefix}{pk.split('#', 1)[1]}{suffix}"] = str(item["source_version"])
        return found
