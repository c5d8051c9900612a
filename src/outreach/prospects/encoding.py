"""The text of an uploaded file, whatever encoding the spreadsheet saved it in. Pure.

In order: a byte-order mark (UTF-8, UTF-16, UTF-32) decides; UTF-16 or UTF-32 without a
mark is recognised by its zero bytes; then strict UTF-8 (text in another encoding is
almost never valid UTF-8); then a declared charset, if it decodes the bytes; then a
guess: Windows' Western code page if the text reads as a Western language in it, else
``charset-normalizer``'s. A guess must give clean text (no control characters) or the
file is refused: a wrong guess would store mojibake for good, and a refusal says how to
fix it.
"""

from __future__ import annotations

import codecs
import re
from contextlib import suppress

import charset_normalizer

from outreach.errors import InvalidInput

UNKNOWN = "could not tell the file's encoding: save it as UTF-8 CSV"
BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Excel on a Western European or American Windows saves "CSV" in cp1252: the likeliest
# encoding of a file that is not UTF-8, and one charset-normalizer often ranks below DOS
# or Baltic code pages on a few accented words.
WESTERN = "cp1252"
SAMPLE = 65_536  # bytes of non-ASCII lines the guess looks at
# How much "mess" a guess may show (charset-normalizer's default, 0.2, finds nothing in
# a short text dense with Polish letters saved as cp1250); a guess must decode cleanly too.
THRESHOLD = 0.4
CONTEXT = 4_096  # bytes from the start that go with the sample: words of the language
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_WORD = re.compile(r"[^\W\d_]+")  # letters
_NON_ASCII_TEXT = re.compile(r"[^\x00-\x7f]")
_ICELANDIC = re.compile("[ÐðÝýÞþ]")
ASCII = "".join(map(chr, range(128)))
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode(body: bytes, declared: str | None = None) -> tuple[str, str]:
    """The text of ``body`` and the encoding it was read in; raises ``InvalidInput``."""
    for bom, encoding in BOMS:
        if body.startswith(bom):
            return _strict(body[len(bom) :], encoding), encoding
    wide = _wide(body)
    if wide:
        return _strict(body, wide), wide
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    known = _known(declared or "")
    if known and not known.startswith("utf"):
        try:
            return body.decode(known), known
        except UnicodeDecodeError:
            pass  # a charset parameter that does not fit the bytes: guess instead
    return _guessed(body)


def _known(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def _strict(body: bytes, encoding: str) -> str:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        raise InvalidInput(
            f"the file looks like {encoding.upper()} but does not decode as such: "
            "save it as UTF-8 CSV"
        ) from None


def _wide(body: bytes) -> str | None:
    """UTF-32 or UTF-16 without a byte-order mark, told by where the zero bytes fall
    (text that is mostly ASCII has a zero in every other byte, or three in four)."""
    sample = body[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    quarters = [_zeros(sample[i::4]) for i in range(4)]
    if quarters[0] < 0.1 and min(quarters[1:]) > 0.9:
        return "utf-32-le"
    if quarters[3] < 0.1 and min(quarters[:3]) > 0.9:
        return "utf-32-be"
    even, odd = _zeros(sample[0::2]), _zeros(sample[1::2])
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def _zeros(data: bytes) -> float:
    return data.count(0) / len(data) if data else 0.0


def _guessed(body: bytes) -> tuple[str, str]:
    """Windows' Western code page when the text reads as a Western language in it, else
    what ``charset-normalizer`` finds; either checked on the whole body. In a large body
    both look at the start and the lines that are not ASCII: quick on 100,000 rows."""
    sample = _sample(body)
    western = False
    with suppress(UnicodeDecodeError):
        western = _western(sample.decode(WESTERN))
    if western and (text := _clean(body, WESTERN)) is not None:
        return text, WESTERN
    for match in charset_normalizer.from_bytes(sample, threshold=THRESHOLD):
        if match.encoding.startswith(("utf_16", "utf_32")) or match.encoding == WESTERN:
            continue  # told by their zero bytes, above; or found not to fit, just above
        if not _keeps_ascii(match.encoding):
            continue  # EBCDIC and the like: commas, quotes and line breaks must stay so
        if (text := _clean(body, match.encoding)) is not None:
            return text, match.encoding
    raise InvalidInput(UNKNOWN)


def _keeps_ascii(encoding: str) -> bool:
    return bytes(range(128)).decode(encoding, "replace") == ASCII


def _clean(body: bytes, encoding: str) -> str | None:
    """The body decoded, if it decodes and holds no control characters."""
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


def _western(text: str) -> bool:
    """Whether a text read as cp1252 looks like a Western European language, not another
    code page read wrong: accented letters are not nearly all the letters of the words
    that have them (Cyrillic or Greek read as cp1252 is all accents), no symbol sits
    inside a word (Polish read as cp1252: ``Zak³ad``), and no Icelandic letter appears
    (where Turkish differs: ``Þirket`` is ``Şirket``)."""
    if _ICELANDIC.search(text):
        return False
    accented = letters = 0
    for word in _WORD.findall(text):
        if not word.isascii():
            letters += len(word)
            accented += sum(1 for char in word if ord(char) > 127)
    if accented > letters * 0.8:  # French "été" is 2 in 3; Russian read as cp1252, 3 in 3
        return False
    for found in _NON_ASCII_TEXT.finditer(text):
        at = found.start()
        inside = 0 < at < len(text) - 1 and text[at - 1].isalpha() and text[at + 1].isalpha()
        # An apostrophe, a middle dot (Catalan l·l) or a soft hyphen may sit in a word.
        if inside and not found.group().isalpha() and found.group() not in "\u2019\u00b7\u00ad":
            return False
    return True


def _sample(body: bytes, limit: int = SAMPLE) -> bytes:
    """The start of ``body`` and its lines that hold non-ASCII bytes, up to ``limit``
    bytes (a small body whole: the guess needs all the text it can get)."""
    if len(body) <= limit:
        return body
    cut = max(body.rfind(b"\n", 0, CONTEXT), body.rfind(b"\r", 0, CONTEXT))
    lines: list[bytes] = [body[: cut + 1 or CONTEXT]]
    size, end = len(lines[0]), 0
    for found in _NON_ASCII.finditer(body):
        if found.start() < end:
            continue  # in a line already taken
        start = max(body.rfind(b"\n", 0, found.start()), body.rfind(b"\r", 0, found.start()))
        end = min(_find(body, b"\n", found.end()), _find(body, b"\r", found.end()))
        lines.append(body[start + 1 : end])
        size += end - start
        if size >= limit:
            break
    return b"\n".join(lines)


def _find(body: bytes, byte: bytes, start: int) -> int:
    found = body.find(byte, start)
    return len(body) if found < 0 else found
