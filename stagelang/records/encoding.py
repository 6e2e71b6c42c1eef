"""Which text encoding an export is in, and where decoding it fails.

Excel on Japanese Windows saves CSV as CP932 (Shift_JIS), the rest of the world as UTF-8, with
or without a byte order mark, and some tools as UTF-16. A byte order mark settles it; text that
is valid UTF-8 is UTF-8; anything else is left to charset-normalizer, which is built for this.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

from charset_normalizer import from_bytes

# How much of a file is looked at to decide its encoding.
SAMPLE_BYTES = 1 << 16

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# What charset-normalizer may call an encoding, and the codec we read it with. Excel's
# "Shift_JIS" is really Microsoft's CP932, a superset with the NEC and IBM extensions.
_ALIASES = {
    "ascii": "utf-8",
    "utf_8": "utf-8",
    "shift_jis": "cp932",
    "shift_jis_2004": "cp932",
    "shift_jisx0213": "cp932",
    "cp932": "cp932",
    "euc_jp": "euc_jp",
}


_JAPANESE = ("cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213", "euc_jp")


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file that starts with `sample`, as a Python codec name."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    whole_lines = _cut_at_last_line_end(sample)
    try:
        whole_lines.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    matches = list(from_bytes(whole_lines))
    if not matches:
        return "utf-8"  # nothing fits; reading as UTF-8 will say where it breaks
    best = matches[0]
    for match in matches:
        # A short sample of Japanese text also reads as a Central European code page without
        # a single odd character. For a tool whose non-UTF-8 exports come from Excel on
        # Japanese Windows, a Japanese encoding that reads just as cleanly is the better bet.
        if match.encoding in _JAPANESE and match.chaos <= best.chaos:
            return _ALIASES[match.encoding]
    return _ALIASES.get(best.encoding, best.encoding)


def find_decode_error(stream: BinaryIO, encoding: str) -> tuple[int, int, bytes] | None:
    """Where text in `encoding` first fails to decode: line, byte offset and the bad bytes.

    Reading through a text wrapper only says that decoding failed somewhere in the block it
    was reading; this second pass finds the exact line, so the message can point at it.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line, offset = 1, 0
    while chunk := stream.read(1 << 20):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            return (
                line + chunk.count(b"\n", 0, error.start),
                offset + error.start,
                (chunk[error.start : error.end]),
            )
        line += chunk.count(b"\n")
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return line, offset, b""
    return None


def _cut_at_last_line_end(sample: bytes) -> bytes:
    # A sample cut in the middle of a multi-byte character would not decode; whole lines do.
    if len(sample) < SAMPLE_BYTES:
        return sample
    end = sample.rfind(b"\n")
    return sample[: end + 1] if end > 0 else sample
