"""RFC 8785 canonical JSON: the examples of the RFC and of its reference test data
(cyberphone/json-canonicalization testdata), and the refusals our entries rely on."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assembly.audit.jcs import NotCanonical, canonical, loads_canonical


def test_rfc8785_property_sorting_example():
    # RFC 8785 section 3.2.3: keys sort by UTF-16 code units, so the emoji (a surrogate pair
    # starting 0xD83D) comes before U+FB33, although its code point is larger.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    ordered = list(json.loads(canonical(value)).values())
    assert ordered == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    assert canonical(value).startswith(b'{"\\r":"Carriage Return","1":"One","\xc2\x80":"Control"')


def test_rfc8785_string_escaping_example():
    # RFC 8785 3.2.2.2 / cyberphone README: "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"
    text = json.loads(r'"\u20ac$\u000F\u000aA\u0027\u0042\u0022\u005c\\\"\/"')
    assert canonical(text) == b'"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"'


def test_reference_weird_json():
    # cyberphone testdata/input/weird.json -> output/weird.json (U+0080 and DEL stay raw).
    value = json.loads(
        '{"\\u20ac": "Euro Sign", "1": "One", "\\u0080": "Control\\u007f", "\\ud83d\\ude02": "Smiley",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
        ' "</script>": "Browser Challenge"}'
    )
    expected = (
        '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\U0001f602":"Smiley",'
        '"\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical(value) == expected


def test_reference_french_and_unicode():
    french = {"peach": "This sorting order", "péché": "is wrong according to French",
              "pêche": "but canonicalization MUST", "sin": "ingnore locale"}
    assert canonical(french) == ('{"peach":"This sorting order","péché":"is wrong according to French",'
                                 '"pêche":"but canonicalization MUST","sin":"ingnore locale"}').encode()
    # No Unicode normalisation: the two code points stay as they are.
    assert canonical({"Unnormalized Unicode": "\u1e0d\u0307"}) == '{"Unnormalized Unicode":"\u1e0d\u0307"}'.encode()


def test_reference_structures_with_integer_instead_of_float():
    # cyberphone structures.json, with its 56.0 written as 56 (our entries hold no floats).
    value = {"1": {"f": {"f": "hi", "F": 5}, "\n": 56}, "10": {}, "": "empty", "a": {}, "111": [{}], "A": {}}
    assert canonical(value) == b'{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}'


def test_literals_and_control_characters():
    assert canonical([None, True, False, 0, -7, ""]) == b'[null,true,false,0,-7,""]'
    assert canonical("\b\f\n\r\t\x00\x1f\x7f") == b'"\\b\\f\\n\\r\\t\\u0000\\u001f\x7f"'


@pytest.mark.parametrize("value", [1.0, {"area": 89.5}, [0.1], float("nan")])
def test_floats_are_refused(value):
    with pytest.raises(TypeError):
        canonical(value)


@pytest.mark.parametrize("value", [2**53, -(2**53), {1: "x"}, b"bytes", {"s": {1, 2}}, "\ud800"])
def test_values_outside_entry_json_are_refused(value):
    with pytest.raises((TypeError, ValueError)):
        canonical(value)


@pytest.mark.parametrize(
    "line",
    [
        b'{"b":1,"a":2}',  # keys out of order
        b'{"a": 1}',  # white space
        b'{"a":1,"a":1}',  # duplicate key
        b'{"a":1.5}',  # float
        b'{"a":1e3}',  # exponent
        b'{"a":"\\u0041"}',  # needless escape
        b'{"a":"\\/"}',  # needless escape of /
        b'{"a":NaN}',
        b'{"a":1}\n',  # trailing newline is the file's, not the entry's
        b"\xef\xbb\xbf{}",  # byte order mark
        b'{"a":"\xff"}',  # not UTF-8
        b"",
    ],
)
def test_loads_canonical_refuses_non_canonical_lines(line):
    with pytest.raises(NotCanonical):
        loads_canonical(line)


def test_loads_canonical_accepts_its_own_output():
    value = {"type": "ballot.cast", "at": "2025-03-16T08:00:00Z", "actor": {"id": "p1", "role": "owner"}, "n": [1, "二"]}
    assert loads_canonical(canonical(value)) == value


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_is_a_fixed_point(value):
    data = canonical(value)
    assert loads_canonical(data) == value
    assert canonical(json.loads(data)) == data


bmp_keys = st.text(st.characters(max_codepoint=0xD7FF), max_size=6)


@given(st.dictionaries(bmp_keys, st.integers(-100, 100) | st.text(st.characters(max_codepoint=0xD7FF)), max_size=6))
def test_matches_python_json_where_code_point_and_utf16_order_agree(value):
    # Below U+D800 code-point order and UTF-16 order agree, and Python escapes like ECMAScript.
    expected = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert canonical(value) == expected


# --- the fast path (json.dumps after a checking walk) writes exactly the reference bytes ----------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from assembly.audit.jcs import canonical_slow  # noqa: E402

_json_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53 - 1), 2**53 - 1) | _json_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_json_text, inner, max_size=4),
    max_leaves=25,
)


@given(_json_values)
def test_fast_path_equals_the_reference_writer(value):
    assert canonical(value) == canonical_slow(value)


def test_keys_beyond_the_bmp_sort_by_utf16_code_units():
    # U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16, after it by code point.
    value = {"\ufb33": 1, "\U0001f600": 2}
    assert canonical(value) == canonical_slow(value) == '{"\U0001f600":2,"\ufb33":1}'.encode()


def test_fast_path_still_refuses_floats_and_big_integers_anywhere():
    import pytest

    for bad in ({"a": [1, {"b": 1.5}]}, [2**53], {"a": (float("nan"),)}):
        with pytest.raises((TypeError, ValueError)):
            canonical(bad)
