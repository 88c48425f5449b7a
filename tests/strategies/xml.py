"""Strategies for the XML, conditional-request and date tests."""

from __future__ import annotations

import datetime as dt
import string

from hypothesis import strategies as st

from s3core.models import ObjectInfo

UTC = dt.timezone.utc

# Any Unicode a UTF-8 key can hold: everything but surrogates (Hypothesis' default).
any_text = st.text(st.characters(codec="utf-8"), max_size=64)

# Text XML 1.0 can carry as character data (no C0 controls but tab, LF and CR; no
# U+FFFE / U+FFFF), so it must survive a serialise-parse round trip unchanged.
xml_text = st.text(
    st.characters(codec="utf-8").filter(
        lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff")
    ),
    max_size=64,
)

# Keys as clients write them: mostly printable, with the characters that trip encoders.
keys = st.one_of(
    st.text(string.ascii_letters + string.digits + " +%/~*-_.!'()&<>\"\t", min_size=1),
    any_text.filter(bool),
)

# Aware UTC instants within the range HTTP-dates and S3 timestamps can express.
instants = st.datetimes(
    min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9999, 12, 31)
).map(lambda d: d.replace(tzinfo=UTC))

etags = st.text("0123456789abcdef", min_size=32, max_size=32) | st.builds(
    "{}-{}".format,
    st.text("0123456789abcdef", min_size=32, max_size=32),
    st.integers(1, 10_000),
)

object_infos = st.builds(
    ObjectInfo,
    key=keys,
    size=st.integers(0, 5 * 1024**4),
    etag=etags,
    last_modified=instants,
)
