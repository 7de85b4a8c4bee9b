"""Images in the index: an item per published image, and an item per page owner that shows it.

- image: `pk = media#<name>`, `sk = media`; its hash, size, widths and formats, and the version
  of the content-bucket file it was made from.
- use: `pk = uses#<name>`, `sk = article#<slug>` or `author#<slug>`; written with the article
  (in its transaction) or the profile that shows the image, so that the planner finds, when an
  image arrives, changes or goes, exactly the pages to render again.
- hash: `pk = hash#<hash>`, `sk = <name>`; written with the image's item, so that the media stage
  knows whether renditions it would retire are still another file's (the same bytes uploaded
  under two names share their renditions).
"""

from __future__ import annotations

from typing import Any

from broadsheet.adapters.dynamo.codec import (
    MEDIA_SK,
    from_wire,
    hash_pk,
    media_from_item,
    media_item,
    media_pk,
    to_wire,
    uses_pk,
)
from broadsheet.adapters.dynamo.table import Table
from broadsheet.contract.media import MediaItem
from broadsheet.index.ports import SourceVersion


class Media(Table):
    """Published images and what shows them."""

    def get_media(self, names: list[str]) -> dict[str, MediaItem]:
        """The published images among `names`, by name, read in batches."""
        keys = [to_wire({"pk": media_pk(n), "sk": MEDIA_SK}) for n in dict.fromkeys(names)]
        found = [media_from_item(item) for item in self._batch_get(keys)]
        return {media.name: media for media in found}

    def get_media_source(self, name: str) -> SourceVersion | None:
        """Which version of the file `media/<name>` the published image was made from, if any."""
        item = self._get(media_pk(name), MEDIA_SK)
        if not item:
            return None
        plain = from_wire(item)
        return SourceVersion(str(plain["source_version"]), int(plain["source_modified"]))

    def put_media(self, item: MediaItem, source: SourceVersion) -> None:
        """Record a published image (and its hash, in place of the one it had)."""
        old = self.get_media([item.name]).get(item.name)
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": media_item(item, source)}},
            {"Put": {"TableName": self._table, "Item": to_wire({"pk": hash_pk(item.hash), "sk": item.name})}},
        ]
        if old is not None and old.hash != item.hash:
            actions.append(self._hash_delete(old))
        self._transact(actions)

    def delete_media(self, name: str) -> None:
        """Forget a published image (its file was deleted)."""
        old = self.get_media([name]).get(name)
        key = to_wire({"pk": media_pk(name), "sk": MEDIA_SK})
        actions: list[dict[str, Any]] = [{"Delete": {"TableName": self._table, "Key": key}}]
        if old is not None:
            actions.append(self._hash_delete(old))
        self._transact(actions)

    def hash_users(self, digest: str) -> list[str]:
        """The names of the published images whose renditions carry `digest`, sorted."""
        return self._query_sk(hash_pk(digest))

    def _hash_delete(self, item: MediaItem) -> dict[str, Any]:
        key = to_wire({"pk": hash_pk(item.hash), "sk": item.name})
        return {"Delete": {"TableName": self._table, "Key": key}}

    def media_users(self, name: str) -> list[str]:
        """What shows an image: `article#<slug>` and `author#<slug>`, sorted."""
        return self._query_sk(uses_pk(name))

    def _query_sk(self, pk: str) -> list[str]:
        """The sort keys of every item under `pk`, sorted."""
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ProjectionExpression": "sk",
            "ConsistentRead": True,
        }
        found: list[str] = []
        while True:
            response = self._call(lambda: self._db.query(**params))
            found += [str(i["sk"]["S"]) for i in response.get("Items", [])]
            last = response.get("LastEvaluatedKey")
            if not last:
                return sorted(found)
            params["ExclusiveStartKey"] = last

    def media_sources(self) -> dict[str, str]:
        """The content key and source version of every published image (for reconcile)."""
        items = self._scan("sk = :media", "pk, source_version")
        return {f"media/{str(i['pk']).removeprefix('media#')}": str(i["source_version"]) for i in items}

    def media_hashes(self) -> set[str]:
        """The hash of every published image: the renditions the site must keep."""
        items = self._scan("sk = :media", "#h", {"#h": "hash"})
        return {str(i["hash"]) for i in items}

    def use_changes(self, owner: str, old: tuple[str, ...], new: tuple[str, ...]) -> list[dict[str, Any]]:
        """Transaction actions that make `owner` (`article#<slug>`) show `new` images, not `old`."""
        return [
            {"Put": {"TableName": self._table, "Item": to_wire({"pk": uses_pk(name), "sk": owner})}}
            for name in sorted(set(new) - set(old))
        ] + [
            {"Delete": {"TableName": self._table, "Key": to_wire({"pk": uses_pk(name), "sk": owner})}}
            for name in sorted(set(old) - set(new))
        ]

    def set_uses(self, owner: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
        """Make `owner` show `new` images, not `old`, outside a transaction (profiles)."""
        for action in self.use_changes(owner, old, new):
            if "Put" in action:
                put = action["Put"]
                self._call(lambda p=put: self._db.put_item(TableName=p["TableName"], Item=p["Item"]))
            else:
                gone = action["Delete"]
                self._call(lambda d=gone: self._db.delete_item(TableName=d["TableName"], Key=d["Key"]))
