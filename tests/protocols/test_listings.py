"""Every listing shows a protected source only to clients that could read it.

The rule is the HAPI catalog's: public and IP-admitted sources for everyone;
``USER``/``GROUP`` sources for verified users they name.  A wrong password
gives the anonymous listing, never 401.  A protected source's own documents
stay reachable by their path (they tell clients to authenticate), and its
data still answers 401.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.http import basic

PROTECTED = ("Test/Locked", "Test/Aged")

#: Listings: (path, text that shows a protected source is listed).
LISTINGS = {
    "das2 list": ("/?server=list", "Test/Locked|"),
    "catalog node": ("/source/test.json", '"locked"'),
    "combined catalog": ("/catalog.json", "source/test/locked.json"),
    "nodes.csv": ("/nodes.csv", "Test/Locked,"),
    "html listing": ("/source/test/", 'href="locked.html"'),
}

IDENTITIES = {
    "anonymous": ({}, False),
    "wrong password": (basic("ann", "wrong"), False),
    "unknown user": (basic("zed", "zed-secret"), False),
    "non-member": (basic("bob", "bob-secret"), False),
    "member": (basic("ann", "ann-secret"), True),
}


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("listing", LISTINGS)
def test_protected_sources_listed_only_to_readers(client, listing: str, identity: str) -> None:
    path, marker = LISTINGS[listing]
    headers, listed = IDENTITIES[identity]
    reply = client.get(path, headers=headers)
    assert reply.status_code == 200
    text = reply.get_data(as_text=True)
    assert ("ramp" in text.lower()) and (marker in text) is listed


def test_nodes_csv_rows_match_the_das2_list(client) -> None:
    for headers in ({}, basic("ann", "ann-secret")):
        listed = {line.split("|")[0] for line in
                  client.get("/?server=list", headers=headers).get_data(as_text=True).splitlines()
                  if not line.split("|")[0].endswith("/")}
        rows = csv.reader(io.StringIO(client.get("/nodes.csv", headers=headers).get_data(
            as_text=True)))
        sources = {row[0] for row in rows if len(row) > 1 and row[1] == "SourceSet"}
        assert sources == listed
        assert bool(listed & set(PROTECTED)) is bool(headers)


def test_a_protected_source_is_reachable_by_its_path(client) -> None:
    flex = client.get("/source/test/locked/flex.json")
    assert flex.status_code == 200
    assert "authorization" in flex.get_data(as_text=True)
    assert client.get("/source/test/locked/flex?read.time.min=2020-01-01"
                      "&read.time.max=2020-01-01T00:03").status_code == 401


def test_listings_do_not_leak_between_identities(client) -> None:
    member = client.get("/?server=list", headers=basic("ann", "ann-secret")).get_data(as_text=True)
    anonymous = client.get("/?server=list").get_data(as_text=True)
    again = client.get("/?server=list", headers=basic("ann", "ann-secret")).get_data(as_text=True)
    assert "Test/Locked|" in member and "Test/Locked|" not in anonymous and member == again
