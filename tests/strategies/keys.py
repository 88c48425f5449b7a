"""Strategies for object keys: any storable key, and keys that stress a layout.

``any_keys`` is the whole key space (Unicode without surrogates, 1..1024 UTF-8 bytes).
``tricky_keys`` builds keys from the segments a filesystem layout must escape: empty,
``.``, ``..``, over-long, control characters, ``%``, and names that look like the
layout's own reserved names. ``small_keys`` draws from a tiny alphabet so that a state
machine hits the same keys, prefixes and file-vs-directory clashes often.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = [
    "MAX_KEY_BYTES",
    "any_keys",
    "delimiters",
    "small_keys",
    "small_prefixes",
    "tricky_keys",
    "tricky_segments",
]

MAX_KEY_BYTES = 1024


def _fits(key: str) -> bool:
    return 1 <= len(key.encode("utf-8")) <= MAX_KEY_BYTES


# Hypothesis' "utf-8" codec excludes surrogates: exactly the characters a key can hold.
_chars = st.characters(codec="utf-8")

any_keys = st.text(_chars, min_size=1, max_size=400).filter(_fits) | st.text(
    _chars, min_size=250, max_size=1024
).filter(_fits)

tricky_segments = st.one_of(
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "...",
            "%",
            "%2E",
            ".s3~",
            ".s3~!self",
            ".s3~!h" + "0" * 64,
            ".s3~!m" + "0" * 64,
            ".s3~%2E",
            ".s3server",
            "a",
            "a-b",
            "a0",
            "\x00",
            "\x7f",
            "tab\there",
            "line\nbreak",
            "é",
            "日本",
            "🎉",
        ]
    ),
    st.text("ab.%~!-/", max_size=6).map(lambda s: s.replace("/", "")),
    st.integers(250, 300).map(lambda n: "x" * n),
    st.integers(60, 90).map(lambda n: "é" * n),  # escapes past 255 bytes: hashed
    st.text(_chars, max_size=8).map(lambda s: s.replace("/", "")),
)

tricky_keys = (
    st.lists(tricky_segments, min_size=1, max_size=6).map("/".join).filter(_fits)
)

# A small alphabet: collisions, shared prefixes and "a" beside "a/b" happen often.
_small_segments = st.sampled_from(["a", "b", "a-b", "a0", "", ".", "é"])
small_keys = (
    st.lists(_small_segments, min_size=1, max_size=3).map("/".join).filter(_fits)
)
small_prefixes = st.sampled_from(["", "a", "a/", "a-", "b/", "a/a", "é", "/"])
delimiters = st.sampled_from(["", "/", "-", "a", "/a", "a/", "é", "0"])
