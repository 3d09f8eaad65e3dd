"""C2SP signed notes against the test vectors of golang.org/x/mod/sumdb/note (note_test.go):
the PeterNeumann and EnochRoot keys, the exact signed text, and the malformed notes it refuses."""

from __future__ import annotations

import base64

import pytest

from assembly.audit.note import (
    Ed25519Signer,
    NoteError,
    Signature,
    UnverifiedNote,
    generate_key,
    key_id,
    new_signer,
    open_note,
    parse_note,
    sign,
)
from assembly.audit.verifiers import new_verifier

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def test_go_vector_signer_reproduces_the_signed_note():
    signer = new_signer(PETER_SKEY)
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.verifier.vkey == PETER_VKEY  # the vkey derived from the private key
    assert sign(TEXT, signer) == TEXT + "\n" + PETER_SIG  # Ed25519 is deterministic


def test_key_id_is_sha256_of_name_newline_type_and_key():
    public = base64.b64decode(PETER_VKEY.split("+")[2])
    assert public[0] == 0x01
    assert key_id("PeterNeumann", public) == 0xC74F20A3


def test_go_vector_open_with_one_known_key():
    opened = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [new_verifier(PETER_VKEY)])
    assert opened.text == TEXT
    assert [(s.name, s.key_id) for s in opened.verified] == [("PeterNeumann", 0xC74F20A3)]
    assert [(s.name, s.key_id) for s in opened.unverified] == [("EnochRoot", 0xAF0CFE78)]


def test_go_vector_open_with_both_keys():
    opened = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [new_verifier(PETER_VKEY), new_verifier(ENOCH_VKEY)])
    assert [s.name for s in opened.verified] == ["PeterNeumann", "EnochRoot"]
    assert opened.unverified == []


def test_no_known_key_means_unverified():
    with pytest.raises(UnverifiedNote) as caught:
        open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [])
    assert [s.name for s in caught.value.unverified] == ["PeterNeumann", "EnochRoot"]


def test_a_known_keys_bad_signature_rejects_the_note():
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError, match="invalid signature by PeterNeumann"):
        open_note(TEXT + "\n" + bad, [new_verifier(PETER_VKEY)])


def test_repeated_signatures_are_dropped_and_unknown_bad_ones_ignored():
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    note = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    opened = open_note(note, [new_verifier(PETER_VKEY)])
    assert len(opened.verified) == 1
    assert len(opened.unverified) == 2  # the duplicate Enoch line dropped, the altered one kept


def test_same_name_other_key_is_not_a_known_key():
    _, vkey = generate_key("PeterNeumann")
    with pytest.raises(UnverifiedNote):
        open_note(TEXT + "\n" + PETER_SIG, [new_verifier(vkey)])


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("— ", "- "),  # a hyphen is not an em dash
        TEXT + "\n" + PETER_SIG + PETER_SIG * 100,  # more than 100 signatures
        TEXT + "\n" + "— PeterNeumann x08g\n",  # too short to hold a key id and a signature
        TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG,
    ],
)
def test_go_vector_malformed_notes(note):
    with pytest.raises(NoteError):
        open_note(note, [new_verifier(PETER_VKEY)])


def test_invalid_utf8_is_malformed():
    with pytest.raises(NoteError):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [new_verifier(PETER_VKEY)])


def test_text_may_hold_blank_lines_split_at_the_last():
    text, signatures = parse_note("a\n\nb\n\n" + PETER_SIG)
    assert text == "a\n\nb\n"
    assert signatures[0].name == "PeterNeumann"


def test_mangled_verifier_keys_are_refused():
    """As in Go's TestNewVerifier: every proper substring and every one-byte change fails."""
    new_verifier(PETER_VKEY)
    for i in range(len(PETER_VKEY)):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    new_verifier(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        mangled = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(NoteError):
            new_verifier(mangled)
    with pytest.raises(NoteError):  # wrong length key, with adjusted key hash
        new_verifier("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(NoteError):  # unknown algorithm, with adjusted key hash
        new_verifier("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_mangled_signer_keys_are_refused():
    for i in range(len(PETER_SKEY)):
        mangled = PETER_SKEY[:i] + chr(ord(PETER_SKEY[i]) + 1) + PETER_SKEY[i + 1 :]
        with pytest.raises(NoteError):
            new_signer(mangled)
    for cut in range(1, len(PETER_SKEY)):
        with pytest.raises(NoteError):
            new_signer(PETER_SKEY[:cut])


def test_generated_keys_sign_and_verify():
    skey, vkey = generate_key("assembly.example/estate/3")
    signer, verifier = new_signer(skey), new_verifier(vkey)
    assert signer.key_id == verifier.key_id
    note = sign("hello\n", signer)
    assert open_note(note, [verifier]).text == "hello\n"
    assert not verifier.verify(b"hello!\n", signer.sign(b"hello\n"))


def test_resigning_replaces_own_signature_and_keeps_others():
    peter = new_signer(PETER_SKEY)
    stale = Signature("PeterNeumann", 0xC74F20A3, b"\x00" * 64)
    enoch = parse_note(TEXT + "\n" + ENOCH_SIG)[1][0]
    note = sign(TEXT, peter, existing=[stale, enoch])
    assert note == TEXT + "\n" + ENOCH_SIG + PETER_SIG


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u3000b"])
def test_invalid_key_names(name):
    with pytest.raises(NoteError):
        Ed25519Signer(name, b"\x01" * 32)


def test_text_must_end_in_newline():
    with pytest.raises(NoteError):
        sign("no newline", new_signer(PETER_SKEY))
