"""Turn uploaded bytes into UTF-8 text, detecting the encoding and refusing binary files.

Rules, in order (all C-speed: `bytes.decode`, `bytes.count`, slicing; no Python loop over the file):
1. A byte-order mark decides: UTF-32 LE/BE, UTF-8 ("utf-8-sig"), UTF-16 LE/BE.
2. No BOM but NUL bytes: if the first 64 KB has NULs at nearly every odd (even) byte and almost none
   at the other parity, it is BOM-less UTF-16 LE (BE). Otherwise the file is binary and refused.
3. Valid UTF-8 (pure ASCII included) is "utf-8" (checked by the parser's own decoding, see decode_upload).
4. Otherwise, if the file has more valid multi-byte UTF-8 characters than invalid bytes, it is
   UTF-8 with stray bytes: they become U+FFFD, with a warning. Else a legacy code page of a
   non-Latin script (Cyrillic, Greek, Hebrew, Arabic, Japanese, Chinese, Korean) when charset-normalizer
   names one for the text around the first non-UTF-8 byte, the whole file decodes under it and most of
   its non-ASCII letters are of that script; else Windows-1252 if every byte decodes under it, else
   Latin-1 (which accepts any byte). Each is converted to UTF-8 and reported as a warning naming the
   encoding. Latin-script code pages (cp1250 against cp1252) are not guessed: on a few accented letters
   that guess is as likely to make the text worse as better.
5. Decoded text whose first 64 KB is more than 1% control characters (other than tab, CR, LF)
   is binary junk and refused.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field

from services.common.errors import InvalidArgument
from services.dataset.issues import WARNING, Issue

SAMPLE_BYTES = 64 * 1024
_CHUNK = 4 * 1024 * 1024
_MAX_CONTROL_RATIO = 0.01
_MIN_CONTROL_CHARS = 8  # a stray form feed or two in a small file is not binary
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_BOMS = (  # UTF-32 first: its LE BOM starts with the UTF-16 LE BOM
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Magic numbers of files people upload by mistake, so the message can say what they sent.
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one; save it as CSV first)"),
    (b"\xd0\xcf\x11\xe0", "a Microsoft Office file (save it as CSV first)"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3", "an SQLite database"),
)

_UPLOAD_HINT = "Upload a CSV or JSONL text file."

# Legacy code pages of non-Latin scripts, as Python names them, and the scripts (the first word of a
# character's Unicode name) that their text is mostly written in.
_NON_LATIN_CODE_PAGES = ("cp1251", "koi8_r", "cp1253", "cp1255", "cp1256", "cp932", "shift_jis", "euc_jp", "gb18030",
                         "big5", "euc_kr")
_NON_LATIN_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "HEBREW", "ARABIC", "CJK", "HIRAGANA", "KATAKANA", "HANGUL",
                                "FULLWIDTH", "HALFWIDTH", "IDEOGRAPHIC"})
_DETECT_BYTES = 64 * 1024


@dataclass
class DecodedText:
    """The upload as UTF-8 bytes without a BOM, ready for pandas' C parser."""

    utf8: bytes
    encoding: str  # what the upload was: utf-8, utf-8-sig, utf-16-*, utf-32-*, cp1252, latin-1 or a non-Latin code page
    notices: list[Issue] = field(default_factory=list)
    verified: bool = True  # False: assumed to be UTF-8, the parser's decoding checks it (see decode_upload)

    def sample(self, size: int = SAMPLE_BYTES) -> str:
        """The first `size` bytes as text (a character cut at the end is dropped)."""
        return self.utf8[:size].decode("utf-8", errors="ignore")


def decode_upload(data: bytes, *, trust_utf8: bool = True) -> DecodedText:
    """Detect the encoding of `data` and return it as UTF-8. Raises InvalidArgument for binary files
    and for text that cannot be decoded in the encoding its BOM names.

    With `trust_utf8`, non-ASCII bytes without a BOM (or with a UTF-8 BOM) are assumed to be UTF-8
    without a check (`verified=False`): pandas' parser decodes every byte anyway and raises
    UnicodeDecodeError if that was wrong, and the caller then decodes again with trust_utf8=False.
    That spares the common case a full pass over the file."""
    bom, body = _split_bom(data)
    if bom not in (None, "utf-8-sig"):
        return _checked(_transcode(body, bom), bom)
    first_nul = body.find(b"\x00")
    if first_nul >= 0:
        utf16 = _bomless_utf16(body[:SAMPLE_BYTES]) if bom is None else None
        if utf16 is None:
            raise _binary(data, f"found binary data (NUL bytes) at byte {first_nul + len(data) - len(body)}")
        return _checked(_transcode(body, utf16), utf16)
    name = bom or "utf-8"
    if body.isascii():
        return _checked(body, name)
    if trust_utf8:
        return _checked(body, name, verified=False)
    if _is_utf8(body):
        return _checked(body, name)
    return _not_utf8(body, name)


def _split_bom(data: bytes) -> tuple[str | None, bytes]:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, data[len(bom):]
    return None, data


def _is_utf8(body: bytes) -> bool:
    """Decodes in chunks so a 50 MB file never exists twice as str."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(body)
    try:
        for offset in range(0, len(body), _CHUNK):
            decoder.decode(view[offset : offset + _CHUNK], final=offset + _CHUNK >= len(body))
    except UnicodeDecodeError:
        return False
    return True


def _first_bad_utf8_byte(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def _transcode(body: bytes, name: str) -> bytes:
    try:
        return body.decode(name).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(
            f"The file looks like {name.upper()} text but byte {exc.start} cannot be decoded as {name.upper()}. "
            "Save the file as UTF-8 and upload it again.",
            reason="UNSUPPORTED_ENCODING",
            metadata={"encoding": name, "byte": exc.start},
        ) from None


def _bomless_utf16(sample: bytes) -> str | None:
    """ASCII-heavy UTF-16 has a NUL in every other byte: odd positions for LE, even for BE."""
    half = len(sample) // 2
    if half < 2:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls >= 0.3 * half and even_nuls <= 0.02 * half:
        return "utf-16-le"
    if even_nuls >= 0.3 * half and odd_nuls <= 0.02 * half:
        return "utf-16-be"
    return None


def _not_utf8(body: bytes, name: str) -> DecodedText:
    """Mostly UTF-8 with a few stray bytes (more valid multi-byte characters than bad bytes) stays
    UTF-8 with the bad bytes replaced; otherwise cp1252, else Latin-1 (refused after a UTF-8 BOM)."""
    bad_at = _first_bad_utf8_byte(body)
    replaced = body.decode("utf-8", errors="replace")
    bad_bytes = replaced.count("\ufffd")
    multibyte_chars = len(body) - len(replaced)  # each valid 2-4 byte character shortens the text
    if multibyte_chars > bad_bytes:
        _refuse_control_heavy(body, replaced[:SAMPLE_BYTES])
        notice = Issue(
            code="INVALID_UTF8_REPLACED",
            severity=WARNING,
            message=(
                f"The file is UTF-8 but {bad_bytes} invalid byte sequence(s) (the first at byte {bad_at}) were "
                "replaced by '\ufffd'. Fix those characters in the file if they matter."
            ),
        )
        return DecodedText(replaced.encode("utf-8"), name, [notice])
    if name == "utf-8-sig":
        raise InvalidArgument(
            f"The file starts with a UTF-8 byte-order mark but byte {bad_at + 3} is not valid UTF-8. "
            "Save the file again as 'CSV UTF-8' and upload it.",
            reason="UNSUPPORTED_ENCODING",
            metadata={"encoding": name, "byte": bad_at + 3},
        )
    legacy = _non_latin_code_page(body, bad_at)
    if legacy is not None:
        text, name, label = legacy
    else:
        try:
            text, name, label = body.decode("cp1252"), "cp1252", "Windows-1252 (cp1252)"
        except UnicodeDecodeError:
            text, name, label = body.decode("latin-1"), "latin-1", "Latin-1 (ISO-8859-1)"
    _refuse_control_heavy(body, text[:SAMPLE_BYTES])
    notice = Issue(
        code="ENCODING_CONVERTED",
        severity=WARNING,
        message=(
            f"The file is not UTF-8 (byte {bad_at} is not valid UTF-8); it was read as {label} and converted "
            "to UTF-8. Check that the text looks right in the preview, or save the file as UTF-8."
        ),
    )
    return DecodedText(text.encode("utf-8"), name, [notice])


def _non_latin_code_page(body: bytes, bad_at: int) -> tuple[str, str, str] | None:
    """(text, codec, label) when the body is in a legacy code page of a non-Latin script, else None."""
    from charset_normalizer import from_bytes

    start = body.rfind(b"\n", 0, bad_at) + 1
    sample = body[start : start + _DETECT_BYTES]
    if len(sample) == _DETECT_BYTES and (end := sample.rfind(b"\n")) > 0:
        sample = sample[: end + 1]  # whole lines: no multi-byte character cut in two
    best = from_bytes(sample, cp_isolation=[*_NON_LATIN_CODE_PAGES, "cp1252"]).best()
    if best is None or best.encoding not in _NON_LATIN_CODE_PAGES:
        return None
    if not _written_in_a_non_latin_script(sample.decode(best.encoding, errors="ignore")):
        return None  # checked on the sample first: a refused guess never decodes the whole file
    try:
        text = body.decode(best.encoding)
    except UnicodeDecodeError:
        return None
    language = best.language if best.language and best.language != "Unknown" else "detected"
    return text, best.encoding, f"{best.encoding} ({language})"


def _written_in_a_non_latin_script(text: str) -> bool:
    """Text in such a script is mostly its letters, in words of their own. Western text read through the
    wrong code page instead has its few accented letters turned into stray ones inside Latin words
    ("café" as "cafй", "€5" as "Ђ5"), which this refuses."""
    in_script = other = letters = mixed = 0
    previous = " "
    for c in text:
        if c.isalpha():
            letters += 1
            if c > "\x7f":
                other += 1
                if unicodedata.name(c, "").split(" ", 1)[0] in _NON_LATIN_SCRIPTS:
                    in_script += 1
                    mixed += previous.isascii() and previous.isalpha()
            elif previous > "\x7f" and previous.isalpha():
                mixed += 1
        previous = c
    return in_script >= 3 and in_script >= 0.8 * other and in_script >= 0.3 * letters and mixed <= 0.1 * in_script


def _checked(utf8: bytes, encoding: str, *, verified: bool = True) -> DecodedText:
    decoded = DecodedText(utf8, encoding, verified=verified)
    _refuse_control_heavy(utf8, decoded.sample())
    return decoded


def _refuse_control_heavy(data: bytes, sample: str) -> None:
    if not sample:
        return
    controls = _CONTROL_CHARS.findall(sample)
    if len(controls) > max(_MIN_CONTROL_CHARS, _MAX_CONTROL_RATIO * len(sample)):
        raise _binary(data, f"{len(controls)} of its first {len(sample)} characters are control characters")


def _binary(data: bytes, detail: str) -> InvalidArgument:
    kind = next((what for magic, what in _MAGIC if data.startswith(magic)), None)
    looks = f" It looks like {kind}." if kind else ""
    return InvalidArgument(
        f"The file is not valid text: {detail}.{looks} {_UPLOAD_HINT}",
        reason="BINARY_FILE",
        metadata={"detail": detail, **({"detected": kind} if kind else {})},
    )
