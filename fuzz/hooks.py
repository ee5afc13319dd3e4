"""Schemathesis hooks for the Nexus contract fuzz (loaded through `hooks` in schemathesis.toml).

A list's `cursor` is opaque: only a value the list issued is valid, which no schema can say, so
a generated cursor is (rightly) refused with 422 and would hide the other parameters from the
positive checks. Cursors within the documented bounds are left out of every request (in all
phases, hence `before_call`); an over-long one is kept, since it must still be refused.
Forged cursors are covered by the Rust tests of `shared/src/pagination.rs`.
"""

import schemathesis

MAX_CURSOR_LEN = 4096  # shared/src/pagination.rs


@schemathesis.hook
def before_call(ctx, case, kwargs):
    query = case.query
    if query and isinstance(query.get("cursor"), str) and len(query["cursor"]) <= MAX_CURSOR_LEN:
        del query["cursor"]


# POST /api/imports takes a CSV file (`text/csv`): a generated string is sent as its text, as
# text/plain is (schemathesis has no text/csv serializer of its own).
schemathesis.serializer.alias("text/csv", "text/plain")
