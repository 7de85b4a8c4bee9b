"""Writes: an article with its entries, counters and alias claims, in one conditional transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from broadsheet.contract.models import Article, AuthorProfile
from broadsheet.index.entries import entries_of, listed_digest, page_digest, sort_key
from broadsheet.index.ports import IndexedArticle, SourceVersion
from broadsheet.pages import is_pinned_list

if TYPE_CHECKING:
    pass
from broadsheet.adapters.dynamo.codec import (
    ARTICLE_SK,
    CLAIM_PREFIX,
    PROFILE_SK,
    TRANSACTION_LIMIT,
    alias_pk,
    article_pk,
    entry_item,
    from_wire,
    listing_pk,
    pack,
    profile_pk,
    to_wire,
    unpack,
    upload_item,
)
from broadsheet.adapters.dynamo.counters import Counters
from broadsheet.adapters.dynamo.media import Media


class Writes(Counters, Media):
    """Writes of the index: what ingest does."""

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
        if expected and len(actions) > TRANSACTION_LIMIT and len(staying) < len(expected.listings):
            # Once unlisted, the rest fits: its article, its entries, and at most one delete or
            # one counter for each (1 + 2 × 33 actions at the article format's limits).
            if not self._unlist(expected, staying):
                return False
            return self.put_article(article, source, now, replace(expected, listings=tuple(staying), rev=rev))
        live, key = bool(listings), sort_key(article)
        aliases = self._alias_changes(article.slug, expected, article.aliases, live, key)
        shown = expected.article.media_names if expected else ()
        uses = self.use_changes(f"article#{article.slug}", shown, article.media_names)
        if source.uploaded_by and source.version_id:
            uses.append({"Put": {"TableName": self._table, "Item": upload_item(article.slug, source)}})
        return self._transact_with_aliases(actions, aliases + uses)

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
        return to_wire(
            {
                "pk": article_pk(article.slug),
                "sk": ARTICLE_SK,
                "slug": article.slug,
                "doc": pack(article.model_dump_json()),
                "live": bool(listings),
                # A draft has a preview page; the planner sees this without unpacking the doc.
                "draft": article.status == "draft",
                "sort_key": key,
                "listings": listings,
                "listed": listed_digest(article),
                "page": page_digest(article),
                # How it is pinned to the fronts now (its pinned lists say where), if it is.
                "featured": article.featured if any(is_pinned_list(x) for x in listings) else None,
                "source_version": source.version_id,
                "source_modified": source.modified_ms,
                "source_suffix": source.suffix,
                "source_uploaded_by": source.uploaded_by or None,
                "rev": rev,
            }
        )

    def _entry_deletes(
        self, expected: IndexedArticle, listings: list[str], skip: set[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]:
        """Deletes of an indexed article's entries in `listings` (but for the keys in `skip`)."""
        keys = [(listing_pk(x), expected.sort_key) for x in listings]
        return [
            {"Delete": {"TableName": self._table, "Key": to_wire({"pk": pk, "sk": sk})}}
            for pk, sk in keys
            if (pk, sk) not in (skip or set())
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
            item = to_wire(
                {"pk": alias_pk(claimed), "sk": CLAIM_PREFIX + slug, "live": live, "sort_key": key}
            )
            actions.append({"Put": {"TableName": self._table, "Item": item}})
        for gone in sorted(old - new):
            claim = to_wire({"pk": alias_pk(gone), "sk": CLAIM_PREFIX + slug})
            actions.append({"Delete": {"TableName": self._table, "Key": claim}})
        return actions

    def _transact_with_aliases(self, actions: list[dict[str, Any]], aliases: list[dict[str, Any]]) -> bool:
        """One transaction when it fits DynamoDB's limit; else the aliases follow in their own."""
        if len(actions) + len(aliases) <= TRANSACTION_LIMIT:
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
            "Key": to_wire({"pk": article_pk(expected.article.slug), "sk": ARTICLE_SK}),
        }
        delete.update(self._revision_condition(expected))
        actions: list[dict[str, Any]] = [{"Delete": delete}]
        actions += self._entry_deletes(expected, list(expected.listings))
        actions += self._listing_counts(expected.listings, ())
        aliases = self._alias_changes(expected.article.slug, expected, [], False, expected.sort_key)
        uses = self.use_changes(f"article#{expected.article.slug}", expected.article.media_names, ())
        return self._transact_with_aliases(actions, aliases + uses)

    def put_profile(self, author_slug: str, profile: AuthorProfile, source: SourceVersion) -> None:
        """Store an author's profile (and which image it shows)."""
        old = self._profile_image(author_slug)
        item = to_wire(
            {
                "pk": profile_pk(author_slug),
                "sk": PROFILE_SK,
                "doc": pack(profile.model_dump_json()),
                "source_version": source.version_id,
                "source_modified": source.modified_ms,
            }
        )
        self._call(lambda: self._db.put_item(TableName=self._table, Item=item))
        new = (profile.portrait.name,) if profile.portrait else ()
        self.set_uses(f"author#{author_slug}", old, new)

    def delete_profile(self, author_slug: str) -> None:
        """Remove an author's profile."""
        old = self._profile_image(author_slug)
        key = to_wire({"pk": profile_pk(author_slug), "sk": PROFILE_SK})
        self._call(lambda: self._db.delete_item(TableName=self._table, Key=key))
        self.set_uses(f"author#{author_slug}", old, ())

    def _profile_image(self, author_slug: str) -> tuple[str, ...]:
        item = self._get(profile_pk(author_slug), PROFILE_SK)
        if not item:
            return ()
        profile = AuthorProfile.model_validate_json(unpack(from_wire({"doc": item["doc"]})["doc"]))
        return (profile.portrait.name,) if profile.portrait else ()

    @staticmethod
    def _revision_condition(expected: IndexedArticle | None) -> dict[str, Any]:
        if expected is None:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        return {
            "ConditionExpression": "rev = :rev",
            "ExpressionAttributeValues": {":rev": {"N": str(expected.rev)}},
        }
