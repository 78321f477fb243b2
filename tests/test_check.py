"""Tests for ``pie._check``: PIE's line-wise accuracy and the strict token judge.

The oracle below is PIE's ``get_accuracy`` (LearningOpt/pie), kept as a fact of the format.
PIE strips the expected file's text and gets the program's stdout through
``subprocess.run(text=True)``: UTF-8 strict decoding with universal newlines.
"""

from __future__ import annotations

import inspect
import io
import math
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import pie
from pie._check import CheckMode, accuracy, check, check_output


def pie_accuracy(output: str, expected: str) -> float:
    return accuracy(output.encode(), expected.encode(), CheckMode.PIE)


def strict_accuracy(output: str, expected: str) -> float:
    return accuracy(output.encode(), expected.encode(), CheckMode.STRICT)


def get_accuracy(output: str, ground_truth: str) -> float:
    """PIE's reference implementation, verbatim in behaviour (divides by zero on empty truth)."""
    num_correct = 0
    ground_truth_lines = ground_truth.strip().splitlines()
    output_truth_lines = output.strip().splitlines()
    for gen_output, ground_truth_output in zip(output_truth_lines, ground_truth_lines):  # noqa: B905
        is_corr = gen_output == ground_truth_output
        if not is_corr:
            try:
                gen_output = float(gen_output)  # type: ignore[assignment]  # noqa: PLW2901
                ground_truth_output = float(ground_truth_output)  # type: ignore[assignment]  # noqa: PLW2901
                is_corr = abs(gen_output - ground_truth_output) < 1e-3  # type: ignore[operator]
            except:  # noqa: E722
                pass
        num_correct += int(is_corr)
    return num_correct / len(ground_truth_lines)


def universal_newlines(data: bytes) -> str:
    """Python's text-mode reading of ``data`` (independent of ``decode_output``); strict UTF-8."""
    return io.TextIOWrapper(
        io.BytesIO(data), encoding="utf-8", errors="strict", newline=None
    ).read()


# --------------------------------------------------------------------------------------------
# strategies

WHITESPACE = " \t\r\n\x0b\x0c"
# Characters that str.strip()/splitlines() treat as whitespace or line breaks beyond ASCII.
EXOTIC_SPACE = "\x1c\x1d\x1e\x85\xa0\u2028\u2029\u3000"

whitespace = st.text(st.sampled_from(WHITESPACE), max_size=4)
ints = st.integers(-(10**12), 10**12).map(str)
FLOAT_FORMATS = ["{:.0f}", "{:.3f}", "{:.6f}", "{:.10g}", "{!r}", "{:e}", "{:.12f}"]
plain_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
formatted_floats = st.builds(lambda x, f: f.format(x), plain_floats, st.sampled_from(FLOAT_FORMATS))
words = st.one_of(
    st.sampled_from(
        [
            "Yes",
            "No",
            "YES",
            "yes",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "-0",
            "+1",
            "1_000",
            "0x10",
            "1e3",
            " 1",
            "1 ",
            "1 2",
            "a b",
            "",
            "-",
            ".",
        ]
    ),
    st.text(st.sampled_from("abcXYZ019-+._e "), max_size=8),
)
arbitrary = st.text(max_size=6)  # anything, including line breaks and exotic whitespace
lines = st.one_of(ints, formatted_floats, words, whitespace, arbitrary)


def _perturb(line: str, delta: float) -> str:
    try:
        value = float(line)
    except ValueError:
        return line
    if not math.isfinite(value):
        return line
    return repr(value + delta)


small_delta = st.floats(-9e-4, 9e-4, allow_nan=False)
big_delta = st.one_of(st.floats(1.1e-3, 1e3), st.floats(-1e3, -1.1e-3))


@st.composite
def mutated_line(draw: st.DrawFn, line: str) -> str:
    kind = draw(st.sampled_from(["keep", "keep", "small", "big", "pad", "other"]))
    if kind == "keep":
        return line
    if kind == "small":
        return _perturb(line, draw(small_delta))
    if kind == "big":
        return _perturb(line, draw(big_delta))
    if kind == "pad":
        return draw(st.sampled_from(" \t")) + line + draw(st.sampled_from(["", " ", "\t"]))
    return draw(lines)


@st.composite
def join_lines(draw: st.DrawFn, parts: list[str]) -> str:
    sep = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    body = sep.join(parts)
    if draw(st.booleans()):
        body += sep
    return draw(whitespace) + body + draw(whitespace)


@st.composite
def text_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """(output, expected): output mostly derived from expected line by line."""
    want = draw(st.lists(lines, min_size=1, max_size=8))
    if draw(st.integers(0, 4)) == 0:
        got = draw(st.lists(lines, max_size=8))
    else:
        got = [draw(mutated_line(w)) for w in want]
        cut = draw(st.integers(0, len(got)))
        if draw(st.booleans()):
            got = got[:cut]
        got += draw(st.lists(lines, max_size=3))
    return draw(join_lines(got)), draw(join_lines(want))


def nonempty(text: str) -> bool:
    return bool(text.strip())


# --------------------------------------------------------------------------------------------
# pie_accuracy against the oracle


@settings(max_examples=500)
@given(text_pairs())
@example(("1\n2\n", "1\n3\n"))
@example(("0.3334", "0.33333"))
@example(("1\n 2", "1\n2"))
@example(("1_000", "1000"))
@example(("inf", "infinity"))
@example(("nan", "nan"))
@example(("a\x85b", "a\nb"))
@example(("1\u2028 2", "1\n2"))
def test_pie_accuracy_equals_reference(pair: tuple[str, str]) -> None:
    output, expected = pair
    assume(nonempty(expected))
    assert pie_accuracy(output, expected) == get_accuracy(output, expected)


@settings(max_examples=300)
@given(st.text(), st.text().filter(nonempty))
def test_pie_accuracy_equals_reference_on_any_text(output: str, expected: str) -> None:
    assert pie_accuracy(output, expected) == get_accuracy(output, expected)


@given(text_pairs())
def test_accuracy_is_a_fraction_of_expected_lines(pair: tuple[str, str]) -> None:
    output, expected = pair
    acc = pie_accuracy(output, expected)
    assert 0.0 <= acc <= 1.0
    n = len(expected.strip().splitlines())
    if n:
        assert (acc * n) == pytest.approx(round(acc * n))


@given(st.lists(lines, max_size=8).flatmap(join_lines))
def test_identical_texts_score_one(text: str) -> None:
    assert pie_accuracy(text, text) == 1.0
    assert strict_accuracy(text, text) == 1.0
    data = text.encode()
    assert accuracy(data, data, CheckMode.PIE) == 1.0
    assert accuracy(data, data, CheckMode.STRICT) == 1.0


@given(text_pairs(), st.lists(lines, min_size=1, max_size=4))
def test_extra_output_lines_never_lower_accuracy(pair: tuple[str, str], extra: list[str]) -> None:
    # Lines are appended after the stripped output: appending to the raw text could expose
    # trailing blanks of its last line, which PIE (rightly) compares.  An empty expectation is
    # the one exception: pie's own rule (only empty output meets it), PIE divides by zero there.
    output, expected = pair
    assume(nonempty(expected))
    longer = output.strip() + "\n" + "\n".join(extra)
    assert pie_accuracy(longer, expected) >= pie_accuracy(output, expected)


@given(
    text_pairs(),
    st.tuples(whitespace, whitespace, whitespace, whitespace),
    st.text(st.sampled_from(EXOTIC_SPACE), max_size=2),
)
def test_surrounding_whitespace_does_not_matter(
    pair: tuple[str, str], spaces: tuple[str, str, str, str], exotic: str
) -> None:
    output, expected = pair
    a, b, c, d = spaces
    base = pie_accuracy(output, expected)
    assert pie_accuracy(a + output + b, c + expected + d) == base
    assert pie_accuracy(exotic + output + exotic, expected + exotic) == base
    assert strict_accuracy(a + output + b, c + expected + d) == strict_accuracy(output, expected)


@given(plain_floats, small_delta, st.sampled_from(FLOAT_FORMATS[3:5]))
def test_floats_within_tolerance_match(x: float, delta: float, fmt: str) -> None:
    want = fmt.format(x)
    got = repr(float(want) + delta)
    assert pie_accuracy(got, want) == 1.0
    assert pie_accuracy(f"1\n{got}\n", f"1\n{want}") == 1.0
    assert pie_accuracy(want, got) == 1.0  # symmetric


@given(plain_floats, big_delta, st.sampled_from(FLOAT_FORMATS[3:5]))
def test_floats_beyond_tolerance_do_not_match(x: float, delta: float, fmt: str) -> None:
    want = fmt.format(x)
    got = repr(float(want) + delta)
    assert pie_accuracy(got, want) == 0.0
    assert pie_accuracy(f"1\n{got}\n", f"1\n{want}") == 0.5
    assert pie_accuracy(want, got) == 0.0


@given(st.lists(lines, max_size=6).flatmap(join_lines), whitespace)
def test_empty_expected_is_met_only_by_empty_output(output: str, expected: str) -> None:
    assert not expected.strip()
    assert pie_accuracy(output, expected) == (1.0 if not output.strip() else 0.0)


# --------------------------------------------------------------------------------------------
# accuracy() on bytes: decoding as PIE's subprocess.run(text=True) does


@settings(max_examples=300)
@given(text_pairs())
def test_accuracy_bytes_matches_reference_after_text_mode_decoding(
    pair: tuple[str, str],
) -> None:
    output, expected = pair
    out_b, exp_b = output.encode(), expected.encode()
    want_text = universal_newlines(exp_b)
    assume(nonempty(want_text))
    assert accuracy(out_b, exp_b, CheckMode.PIE) == get_accuracy(
        universal_newlines(out_b), want_text
    )


invalid_utf8 = st.sampled_from(
    [
        b"\xff",
        b"\xfe",
        b"\x80",
        b"\xc3",
        b"\xe2\x82",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf5\x80\x80\x80",
    ]
)


@given(
    st.text(max_size=10),
    invalid_utf8,
    st.text(max_size=10),
    text_pairs(),
    st.sampled_from(list(CheckMode)),
)
def test_invalid_utf8_output_scores_zero(
    prefix: str, bad: bytes, suffix: str, pair: tuple[str, str], mode: CheckMode
) -> None:
    data = prefix.encode() + bad + suffix.encode()
    with pytest.raises(UnicodeDecodeError):
        universal_newlines(data)  # what PIE's subprocess.run(text=True) would do
    assert accuracy(data, pair[1].encode(), mode) == 0.0
    assert accuracy(data, data, mode) == 0.0  # even when it is byte-identical to the expectation


@given(st.lists(lines, max_size=8), text_pairs(), st.sampled_from(list(CheckMode)))
def test_crlf_and_cr_output_equal_lf_output(
    out_lines: list[str], pair: tuple[str, str], mode: CheckMode
) -> None:
    lf = "\n".join(out_lines).replace("\r", "")
    exp = pair[1].encode()
    base = accuracy(lf.encode(), exp, mode)
    assert accuracy(lf.replace("\n", "\r\n").encode(), exp, mode) == base
    assert accuracy(lf.replace("\n", "\r").encode(), exp, mode) == base
    exp_lf = universal_newlines(exp).encode()
    assert accuracy(exp_lf.replace(b"\n", b"\r\n"), exp, mode) == 1.0


def test_invalid_utf8_expected_is_decoded_with_replacement() -> None:
    assert accuracy(b"\xef\xbf\xbd\n", b"\xff\n", CheckMode.PIE) == 1.0
    assert accuracy(b"1\n", b"1\n\xff", CheckMode.PIE) == 0.5


# --------------------------------------------------------------------------------------------
# strict mode

token_chars = st.characters(codec="utf-8", exclude_categories=["Cs"]).filter(
    lambda c: not c.isspace()
)
tokens = st.one_of(ints, formatted_floats, st.text(token_chars, min_size=1, max_size=5))
token_lists = st.lists(tokens, max_size=8)
layout_space = st.text(st.sampled_from(WHITESPACE + EXOTIC_SPACE), min_size=1, max_size=3)


@st.composite
def layout(draw: st.DrawFn, toks: list[str]) -> str:
    """The tokens with arbitrary whitespace around and between them."""
    out = draw(st.one_of(st.just(""), layout_space))
    for tok in toks:
        out += tok + draw(layout_space)
    return out


@given(
    token_lists.flatmap(lambda t: st.tuples(st.just(t), layout(t))),
    token_lists.flatmap(lambda t: st.tuples(st.just(t), layout(t))),
)
def test_strict_is_token_equality(a: tuple[list[str], str], b: tuple[list[str], str]) -> None:
    (toks_a, text_a), (toks_b, text_b) = a, b
    assert strict_accuracy(text_a, text_b) == (1.0 if toks_a == toks_b else 0.0)


@given(token_lists.flatmap(lambda t: st.tuples(layout(t), layout(t))))
def test_strict_ignores_whitespace_layout(texts: tuple[str, str]) -> None:
    a, b = texts
    assert strict_accuracy(a, b) == 1.0
    assert accuracy(a.encode(), b.encode(), CheckMode.STRICT) == 1.0


@given(st.lists(tokens, min_size=1, max_size=8), st.data())
def test_strict_missing_or_extra_token_fails(toks: list[str], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(toks) - 1))
    shorter = toks[:i] + toks[i + 1 :]
    longer = [*toks[:i], data.draw(tokens), *toks[i:]]
    want = data.draw(layout(toks))
    assert strict_accuracy(data.draw(layout(shorter)), want) == 0.0
    assert strict_accuracy(data.draw(layout(longer)), want) == 0.0


# --------------------------------------------------------------------------------------------
# explicit examples


@pytest.mark.parametrize(
    ("output", "expected", "pie", "strict"),
    [
        ("3\n", "3", 1.0, 1.0),
        ("1\n2\n", "1\n3\n", 0.5, 0.0),
        ("1\n", "1\n2\n3\n4\n", 0.25, 0.0),  # missing lines count as wrong
        ("1\n2\n3\n", "1\n2\n", 1.0, 0.0),  # extra lines are ignored by PIE
        ("0.3334\n", "0.33333333\n", 1.0, 0.0),  # within 1e-3
        ("0.335\n", "0.333\n", 0.0, 0.0),  # 2e-3 away
        ("1e3", "1000", 1.0, 0.0),
        ("1_000", "1000", 1.0, 0.0),  # Python's float() accepts underscores
        ("Yes", "yes", 0.0, 0.0),
        ("1 2", "1  2", 0.0, 1.0),  # PIE compares whole lines; strict compares tokens
        ("1\n 2", "1\n2", 1.0, 1.0),  # float(" 2") == 2.0
        ("1\n a", "1\na", 0.5, 1.0),
        ("a \nb", "a\nb", 0.5, 1.0),  # inner trailing blank is kept by PIE
        ("a\nb ", "a\nb", 1.0, 1.0),  # the last one is stripped with the whole text
        ("\n\n1\n\n", "1", 1.0, 1.0),
        ("1\n\n2", "1\n2", 0.5, 1.0),  # a blank line shifts the zip
        ("nan", "nan", 1.0, 1.0),  # equal strings
        ("nan", "NaN", 0.0, 0.0),  # nan never compares close
        ("inf", "infinity", 0.0, 0.0),  # inf - inf is nan
        ("", "1", 0.0, 0.0),
        ("5\n", "", 0.0, 0.0),
        ("", "", 1.0, 1.0),
        (" \n\t", "\n", 1.0, 1.0),
    ],
)
def test_examples(output: str, expected: str, pie: float, strict: float) -> None:
    assert pie_accuracy(output, expected) == pie
    assert strict_accuracy(output, expected) == strict
    assert accuracy(output.encode(), expected.encode(), CheckMode.PIE) == pie
    assert accuracy(output.encode(), expected.encode(), CheckMode.STRICT) == strict
    if expected.strip():
        assert get_accuracy(output, expected) == pie


def test_reference_divides_by_zero_on_empty_expected() -> None:
    # Documented divergence: PIE raises here; pie scores it.
    with pytest.raises(ZeroDivisionError):
        get_accuracy("", "")
    assert pie_accuracy("", "") == 1.0


def test_the_float_tolerance_is_pie_s_on_both_sides_of_it() -> None:
    # PIE: abs(a - b) < 1e-3, strictly
    assert pie_accuracy("1.0009", "1") == pie_accuracy("0.9991", "1") == 1.0
    assert pie_accuracy("1.0011", "1") == pie_accuracy("0.9989", "1") == 0.0


def test_crlf_examples() -> None:
    assert accuracy(b"1\r\n2\r\n", b"1\n2\n", CheckMode.PIE) == 1.0
    assert accuracy(b"1\r2\r", b"1\n2\n", CheckMode.PIE) == 1.0
    assert accuracy(b"a \r\nb", b"a\nb", CheckMode.PIE) == 0.5  # the blank is still there
    assert accuracy(b"1 \r\n2", b"1\n2", CheckMode.PIE) == 1.0  # float("1 ") == 1.0
    assert accuracy(b"1\r\n2\r\n", b"1\r\n2\r\n", CheckMode.STRICT) == 1.0
    assert accuracy(b"a\r\r\nb", b"a\n\nb", CheckMode.STRICT) == 1.0
    assert accuracy(b"a\r\r\nb", b"a\n\nb", CheckMode.PIE) == 1.0


# --------------------------------------------------------------------------------------------
# streaming: any chunk size gives the same score; memory stays small whatever the output

byte_pieces = st.sampled_from(
    [
        *(b"1", b"2", b" ", b"\n", b"\r", b"\r\n", b"\t", b"a", b"0.0004", b"-0", b"1e3", b"_"),
        *(b"\xc2\x85", b"\xe2\x80\xa8", b"\xc3\xa9", b"\xe3\x80\x80", b"\x1c", b"\x0b", b"\0"),
        *(b"\xff", b"\xc3", b"\xe2\x82", b"\x80"),  # invalid UTF-8
    ]
)
byte_texts = st.lists(byte_pieces, max_size=16).map(b"".join)


def _whole_text_score(output: bytes, expected: bytes, mode: CheckMode) -> float:
    """The rule on whole texts, decoded as PIE decodes them (the oracle for streaming)."""
    try:
        got = universal_newlines(output)
    except UnicodeDecodeError:
        return 0.0
    try:
        want = universal_newlines(expected)
    except UnicodeDecodeError:
        want = expected.decode("utf-8", errors="replace")
    if mode is CheckMode.STRICT:
        return 1.0 if got.split() == want.split() else 0.0
    if not want.strip():
        return 1.0 if not got.strip() else 0.0
    return get_accuracy(got, want)


@settings(max_examples=1000)
@given(byte_texts, byte_texts, st.sampled_from(list(CheckMode)), st.integers(1, 9))
@example(b"\xc3\xa9\xe2\x80\xa8\n\xc2\x85", b"0.0004 \n\xe2\x80\xa8x\n\r\n22", CheckMode.PIE, 1)
@example(b"1\r", b"1\r\n", CheckMode.PIE, 1)
def test_streamed_check_equals_whole_text_rule(
    output: bytes, expected: bytes, mode: CheckMode, chunk: int
) -> None:
    streamed = check(
        io.BytesIO(output), len(output), io.BytesIO(expected), len(expected), mode, chunk=chunk
    )
    assert streamed == _whole_text_score(output, expected, mode)


@given(st.integers(1, 5), st.sampled_from(list(CheckMode)))
def test_lines_and_tokens_longer_than_a_chunk_still_match(chunk: int, mode: CheckMode) -> None:
    long = b"x" * 23 + b"\xc3\xa9" * 5
    data = b"1\n" + long + b"\n" + long + b" 2\n"
    assert check(io.BytesIO(data), len(data), io.BytesIO(data), len(data), mode, chunk=chunk) == 1
    other = b"1\n" + long[:-2] + b"\n" + long + b" 2\n"
    size = len(other)
    assert check(io.BytesIO(other), size, io.BytesIO(data), len(data), mode, chunk=chunk) < 1


literal_parts = st.sampled_from(
    [
        *("0", "1", "9", "00", " ", "\t", "\u3000", "\u0663", "\uff11", "_", ".", "e", "E"),
        *("-", "+", "inf", "infinity", "nan", "x", "é"),
    ]
)
long_lines = st.lists(literal_parts, min_size=1, max_size=24).map("".join)


@settings(max_examples=1000)
@given(
    st.lists(long_lines, min_size=1, max_size=3),
    st.lists(st.sampled_from(["1", "0", "9", "10", "inf", "-1", "0.5", "x"]), max_size=3),
    st.integers(1, 4),
)
def test_lines_longer_than_anything_expected_are_judged_as_float_does(
    got: list[str], want: list[str], chunk: int
) -> None:
    """With a tiny chunk most output lines are longer than any expected line: they are held
    reduced (spaces folded, digits made ASCII), which must not change what float() says."""
    output = "\n".join(got).encode()
    expected = "\n".join(want).encode()
    score = check(
        io.BytesIO(output), len(output), io.BytesIO(expected), len(expected), "pie", chunk=chunk
    )
    assert score == _whole_text_score(output, expected, CheckMode.PIE)


def test_a_long_numeric_line_is_still_read_as_a_float() -> None:
    # kept although longer than anything expected: float() may still accept it (PIE's rule)
    got = b"0.0" + b"0" * 5000 + b"4\n"
    assert check(io.BytesIO(got), len(got), io.BytesIO(b"0\n"), 2, CheckMode.PIE, chunk=64) == 1
    assert check(io.BytesIO(got), len(got), io.BytesIO(b"0\n"), 2, CheckMode.STRICT) == 0


def test_a_long_line_reduced_for_float_never_equals_an_expected_line() -> None:
    got = b"x\n" + b" " * 300 + b"--1\ny"  # not a float; reduced it would read " --1"
    want = b"x\n --1\ny"
    assert check(io.BytesIO(got), len(got), io.BytesIO(want), len(want), "pie", chunk=8) == 2 / 3
    assert get_accuracy(got.decode(), want.decode()) == 2 / 3


def test_only_the_first_output_size_bytes_count() -> None:
    data = b"1\n2\n"
    assert check(io.BytesIO(data + b"junk"), len(data), io.BytesIO(data), 4, CheckMode.STRICT) == 1


def _peak_bytes_of(function: Callable[[], float]) -> tuple[float, int]:
    tracemalloc.start()
    try:
        score = function()
        return score, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


OUTPUT_CAP = 64 << 20


@pytest.mark.parametrize("mode", list(CheckMode))
@pytest.mark.parametrize(
    ("shape", "pie_score"),
    [("sparse", 1.0), ("many_lines", 1.0), ("one_long_line", 0.0), ("trailing_blanks", 1.0)],
)
def test_checking_a_near_cap_output_holds_little_memory(
    tmp_path: Path, shape: str, pie_score: float, mode: CheckMode
) -> None:
    """Output just under the 64 MiB cap: the check used to read (and decode, and split) all of
    it, costing several times the cap; streamed, it holds a few chunks."""
    path = tmp_path / "stdout"
    with path.open("wb") as handle:
        if shape == "sparse":  # two written pages, the rest a hole
            handle.write(b"12\n")
            handle.seek(OUTPUT_CAP - 4096)
            handle.write(b"x")
        elif shape == "many_lines":
            handle.write(b"12\n" * (OUTPUT_CAP // 3 - 1))
        elif shape == "one_long_line":
            handle.write(b"y" * (OUTPUT_CAP - 1))
        else:
            handle.write(b"12" + b" \n" * (OUTPUT_CAP // 2 - 2))
    expected = tmp_path / "expected"
    expected.write_bytes(b"12\n")
    with path.open("rb") as output:
        score, peak = _peak_bytes_of(
            lambda: check_output(output, path.stat().st_size, expected=expected, mode=mode)
        )
    strict_score = 1.0 if shape == "trailing_blanks" else 0.0
    assert score == (pie_score if mode is CheckMode.PIE else strict_score)
    assert peak < 4 << 20, f"{peak / 2**20:.1f} MiB held to check a {shape} output"


# --------------------------------------------------------------------------------------------
# a judge: wrong answers PIE's rule lets through (the default check of pie.evaluate, pie run)

FACTORIAL_100 = str(math.factorial(100))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("123456789012345680", "123456789012345678"),  # rounds to the same double
        (FACTORIAL_100[:19] + "0" * (len(FACTORIAL_100) - 19), FACTORIAL_100),  # 19 digits right
        ("0", "0.0004"),  # within PIE's absolute 1e-3
        ("-0.0005", "0.0004"),
        ("\u0661\u0662\u0663", "123"),  # Arabic-Indic digits: float() reads them
        ("\uff11\uff12\uff13", "123"),  # fullwidth digits
        ("1_000", "1000"),
        ("1e3", "1000"),
    ],
)
def test_strict_rejects_what_pie_s_rule_accepts(output: str, expected: str) -> None:
    assert get_accuracy(output, expected) == 1.0  # PIE's rule lets it through
    assert pie_accuracy(output, expected) == 1.0  # pie keeps that rule for parity
    assert strict_accuracy(output, expected) == 0.0


integers = st.integers(-(10**40), 10**40)


@given(integers, integers)
def test_strict_compares_integers_exactly(a: int, b: int) -> None:
    assert strict_accuracy(f"{a}\n", f"{b}\n") == (1.0 if a == b else 0.0)


@given(st.text(st.characters(categories=["Nd"]), min_size=1, max_size=6))
def test_strict_never_reads_other_scripts_digits_as_ascii(digits: str) -> None:
    ascii_digits = "".join(str(int(d)) for d in digits)
    assert strict_accuracy(digits, ascii_digits) == (1.0 if digits == ascii_digits else 0.0)


def test_the_api_default_is_the_strict_judge() -> None:
    assert inspect.signature(pie.Evaluator).parameters["check"].default is CheckMode.STRICT
