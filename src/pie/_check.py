"""Output comparison, streamed: PIE's line-wise accuracy and a strict token-wise judge.

Both modes read the program's output and the expected output in chunks, so checking costs a
small, fixed amount of memory whatever the program printed: a line or token is held only while
it could still match (see ``_Pending``), and nothing is read twice except the stripped tail.
"""

from __future__ import annotations

import codecs
import enum
import io
import itertools
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 17


class CheckMode(str, enum.Enum):
    PIE = "pie"  # PIE's rule: line-wise, numbers within 1e-3 (parity with the paper)
    STRICT = "strict"  # a judge: tokens must be identical, nothing missing or extra


FLOAT_TOLERANCE = 1e-3

# Characters a line longer than any expected line may hold and still parse as a float (a
# superset of what float() accepts: any decimal digit, whitespace, sign, point, underscore,
# exponent, and the letters of inf/infinity/nan); any other character rules float() out.
_NOT_NUMERIC = re.compile(r"[^\d\s+\-._eEiInNfFtTyYaA]")
_SPACE_RUN = re.compile(r"\s+")
# str.splitlines() boundaries; "\r" also starts "\r\n", so it is held back at a chunk's end.
_LINE_BOUNDARIES = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_END = object()


def accuracy(output: bytes, expected: bytes, mode: CheckMode | str) -> float:
    """``check`` on two byte strings in memory."""
    return check(io.BytesIO(output), len(output), io.BytesIO(expected), len(expected), mode)


def check_output(output: BinaryIO, output_size: int, *, expected: Path, mode: CheckMode) -> float:
    """``check`` of a program's output against an expected-output file."""
    with expected.open("rb") as handle:
        return check(output, output_size, handle, os.fstat(handle.fileno()).st_size, mode)


def check(
    output: BinaryIO,
    output_size: int,
    expected: BinaryIO,
    expected_size: int,
    mode: CheckMode | str,
    *,
    chunk: int = CHUNK_BYTES,
) -> float:
    """Accuracy of the first ``output_size`` bytes of ``output`` against ``expected``.

    The output is decoded as PIE's ``subprocess.run(text=True)`` decodes it: strict UTF-8 (a
    program printing invalid UTF-8 scores 0, as it fails in PIE) with universal newlines.  An
    expected output that is not UTF-8 is decoded with replacement characters.
    """
    mode = CheckMode(mode)
    try:
        if mode is CheckMode.STRICT:
            return _strict(output, output_size, expected, expected_size, chunk)
        return _pie(output, output_size, expected, expected_size, chunk)
    except UnicodeDecodeError:
        return 0.0


def _pie(output: BinaryIO, size: int, expected: BinaryIO, expected_size: int, chunk: int) -> float:
    """PIE's ``get_accuracy``: both texts stripped as a whole and split into lines (lines are
    not stripped), zipped; a line is right when equal, or when both parse as floats within
    1e-3; accuracy = right lines / expected lines (extra output lines are ignored).

    PIE divides by zero on an empty expected output; here only empty output meets it.
    """
    want_end = _content_end(expected, expected_size, chunk)
    got_end = _content_end(output, size, chunk)
    want = itertools.chain.from_iterable(
        _lines(_stripped(_decoded(expected, want_end, "replace", chunk)), keep=None)
    )
    got_text = _stripped(_decoded(output, got_end, "strict", chunk))
    got = itertools.chain.from_iterable(_lines(got_text, keep=max(want_end, chunk)))
    total = correct = 0
    for line in want:
        assert isinstance(line, str)  # expected lines are all kept as they are
        total += 1
        mine = next(got, _END)
        if mine is _END:
            total += sum(1 for _ in want)
            break
        if mine is None:  # dropped: longer than any expected line, and not a number
            continue
        if isinstance(mine, bytearray):  # a long float literal: only float() may accept it
            correct += _close(mine, line)
        elif isinstance(mine, str) and (mine == line or _close(mine, line)):
            correct += 1
    for _ in got_text:  # PIE decodes all the output: invalid UTF-8 anywhere scores 0
        pass
    if total == 0:
        return 1.0 if got_end == 0 else 0.0
    return correct / total


def _strict(
    output: BinaryIO, size: int, expected: BinaryIO, expected_size: int, chunk: int
) -> float:
    """1.0 when the whitespace-separated tokens are identical, else 0.0 (missing or extra is
    WA); stops reading at the first difference."""
    want = itertools.chain.from_iterable(
        _tokens(_decoded(expected, expected_size, "replace", chunk), keep=None)
    )
    got = itertools.chain.from_iterable(
        _tokens(_decoded(output, size, "strict", chunk), keep=max(expected_size, chunk))
    )
    for token in want:
        if next(got, _END) != token:
            return 0.0
    return 1.0 if next(got, _END) is _END else 0.0


def _close(got: str | bytearray, want: str) -> bool:
    try:
        return abs(float(got) - float(want)) < FLOAT_TOLERANCE
    except ValueError:
        return False


# ---- reading ------------------------------------------------------------------------------


def _decoded(handle: BinaryIO, end: int, errors: str, chunk: int) -> Iterator[str]:
    """The text of bytes ``[0, end)``, in pieces of at most ``chunk`` characters."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors)
    handle.seek(0)
    left = end
    while left > 0:
        data = handle.read(min(chunk, left))
        if not data:
            break
        left -= len(data)
        text = decoder.decode(data)
        if text:
            yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def _stripped(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces without the leading whitespace of the whole text (the end is cut by
    ``_content_end``)."""
    started = False
    for piece in pieces:
        if not started:
            piece = piece.lstrip()  # noqa: PLW2901
            started = bool(piece)
        if piece:
            yield piece


def _content_end(handle: BinaryIO, size: int, chunk: int) -> int:
    """Byte offset just past the last non-whitespace character of the first ``size`` bytes
    (0 when there is none), read backwards so trailing whitespace is all that is scanned."""
    end = size
    window = max(chunk, 4)  # a whole UTF-8 character always fits
    while end > 0:
        start = max(0, end - window)
        handle.seek(start)
        data = handle.read(end - start)
        # A window may begin inside a character: its continuation bytes go to the next window.
        skip = 0
        while start > 0 and skip < 3 and 0x80 <= data[skip] < 0xC0:
            skip += 1
        text = data[skip:].decode("utf-8", "surrogateescape").rstrip()
        if text:
            return start + skip + len(text.encode("utf-8", "surrogateescape"))
        end = start + skip
    return 0


Unit = str | bytearray | None  # a line or token; bytearray: a reduced float literal


class _Pending:
    """The unfinished line or token at the end of a piece, held while it could still match.

    A unit longer than ``keep`` characters (the expected text's length) can equal nothing
    expected: it is dropped (it comes out as ``None``), unless ``numeric`` (a line, under PIE's
    rule) and it may still be a float literal, kept reduced (see ``_FloatForm``).
    ``keep=None`` holds everything (the expected text).
    """

    def __init__(self, keep: int | None, *, numeric: bool) -> None:
        self.keep = keep
        self.numeric = numeric
        self.parts: list[str] = []
        self.size = 0
        self.dropped = False
        self.literal: _FloatForm | None = None

    @property
    def active(self) -> bool:
        return self.size > 0 or self.dropped

    def add(self, text: str) -> None:
        self.size += len(text)
        if self.dropped:
            return
        if self.literal is None and (self.keep is None or self.size <= self.keep):
            self.parts.append(text)
            return
        if self.literal is None:
            if not self.numeric:
                self._drop()
                return
            self.literal = _FloatForm()
            self.parts.append(text)
            text = "".join(self.parts)
            self.parts = []
        if not self.literal.add(text):
            self._drop()

    def _drop(self) -> None:
        self.parts, self.literal, self.dropped = [], None, True

    def take(self, tail: str) -> Unit:
        unit: Unit
        if self.literal is not None and (not tail or self.literal.add(tail)):
            unit = self.literal.text
        elif self.dropped or self.literal is not None:
            unit = None
        else:
            self.parts.append(tail)
            unit = "".join(self.parts)
        self.parts, self.size, self.dropped, self.literal = [], 0, False, None
        return unit


class _FloatForm:
    """A line too long to equal any expected line, reduced to what float() reads of it.

    float() accepts whitespace only around the literal, and at most the letters of "infinity"
    or one exponent, so a line breaking those rules is refused at once.  What is kept is ASCII:
    whitespace runs as one space, other scripts' digits as ASCII digits (float() reads them so),
    in a bytearray that float() parses in place; a line of digits, which float() must read
    whole, is thus held once, up to the output cap.
    """

    LETTERS = re.compile(r"[eEiInNfFtTyYaA]")

    def __init__(self) -> None:
        self.text = bytearray()
        self.content = False  # a non-space character was seen
        self.gap = False  # ... and whitespace after it
        self.letters = 0

    def add(self, text: str) -> bool:
        """Append ``text``; False once the line cannot be a float literal."""
        if text.isspace():
            self.gap = self.content
            if not self.text.endswith(b" "):
                self.text += b" "
            return True
        if not text.isdecimal():
            if _NOT_NUMERIC.search(text):
                return False
            text = _SPACE_RUN.sub(" ", text)
            core = text.strip()
            if " " in core or (self.content and text[0] == " "):
                return False
            self.letters += len(self.LETTERS.findall(text))
            if self.letters > len("infinity") + 1:
                return False
        if self.gap:
            return False
        self.content = True
        self.gap = text[-1] == " "
        self.text += text.encode("ascii") if text.isascii() else _ascii_digits(text)
        return True


def _ascii_digits(text: str) -> bytes:
    """``text`` with every decimal digit as its ASCII digit (what float() reads it as)."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text).encode(
        "ascii"
    )


def _lines(pieces: Iterable[str], keep: int | None) -> Iterator[list[Unit]]:
    """Batches of the lines ``"".join(pieces).splitlines()`` gives (a dropped one as None)."""
    pending = _Pending(keep, numeric=True)
    carry = ""
    for piece in pieces:
        text = carry + piece
        carry = ""
        if text.endswith("\r"):  # may be the first half of "\r\n"
            carry, text = "\r", text[:-1]
        if not text:
            continue
        lines = text.splitlines()
        unfinished = None if text[-1] in _LINE_BOUNDARIES else lines.pop()
        if lines:
            batch: list[Unit] = list(lines)
            batch[0] = pending.take(lines[0])
            yield batch
        if unfinished is not None:
            pending.add(unfinished)
    if carry or pending.active:
        yield [pending.take("")]


def _tokens(pieces: Iterable[str], keep: int | None) -> Iterator[list[Unit]]:
    """Batches of the tokens ``"".join(pieces).split()`` gives (a dropped one as None)."""
    pending = _Pending(keep, numeric=False)
    for text in pieces:
        glued = pending.active and not text[0].isspace()
        if pending.active and not glued:
            yield [pending.take("")]
        tokens = text.split()
        if not tokens:
            continue
        open_end = not text[-1].isspace()
        if glued and len(tokens) == 1 and open_end:
            pending.add(tokens[0])
            continue
        batch: list[Unit] = list(tokens)
        if glued:
            batch[0] = pending.take(tokens[0])
        if open_end:
            batch.pop()
            pending.add(tokens[-1])
        if batch:
            yield batch
    if pending.active:
        yield [pending.take("")]
