"""HTTP signatures: Mastodon's headers for a fixed key and a frozen clock, round trips, and every refusal.

Pure unit tests, no app: the clock is passed as ``now`` and the key pair below
was generated once, so the expected ``Signature`` headers are literal strings
(as in Mastodon's ``spec/requests/signature_verification_spec.rb``).
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from fedikit.plugins.activitypub import signatures
from fedikit.plugins.activitypub.signatures import (
    KeyMismatchError,
    SignatureError,
    format_http_date,
    generate_key_pair,
    load_private_key,
    load_public_key,
    parse_signature_header,
    sign_request,
    sign_rfc9421,
    verify,
    verify_cavage,
    verify_rfc9421,
)

PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCVzMs35hjbCVy4
ls6LAPkHO14lgc0ddgVqiCBI6iblEQMnaJHR99OIRGl9fl3+rdaajBPH8tVptdGj
0pPX6Fzje7lgVSgYfh56nEoo9qEO7m+3YlYzGYr4FcN8M6X6JhpBO60C9vfnyxyJ
HjZ+M0jDGGHPeW+jfsjc2w2zoA0DbKETQtNGgRy92Nng4xguUhEBHTEHU4NcouVv
0DdajqanPh7+BXfAw58HKo8wa/nAFC5TmjQ+wVJ8Pbe+J7+SicjBF2a32QUEARGC
NRa4uh8fXWk3Lg1pftTBAN9g4zPsV1HMvXEWHYOqzmUVnhCeYvE6KYaNDk1GWx6a
SgLSHLnlAgMBAAECggEAMm2Eo8az61iVfBZYZXboXkTgBqRRlm9al2hH5gPdIBPA
Cg4ruJFDBoZxNKvLnKaMre4l4pOewD1S22FSH8a7LmFCIGnKW6RpQkFGvc94nHwr
44IZHo6kt6sr6a3BXBpjkD40meDlx4QakRY4pfdBsVuN4bgxmspdd+vOCwAAIXx2
SYPr+34sKlieRoCfZIzLRxT9v46beXJZLtx7EGVQzV5G2JziWSsmWqzlA0WmJ/uS
HTEMmbneT28cTFS5QHZzbXBKanuDoOJHG+rEM891Wme0mYgpie6rupUJdA3jo4YI
38KGXouGMweAiKGrT4EsL9qM1amulSIHcd2hQZ6Q6QKBgQDGQZD+bfJVNQcnLVG7
XdZ5fXLzyEc9Bo06jdLEiVRI5Cg/zS/rzFEmnMpgZraIX2QOnJacncXU2etLzjhx
NhnLY6hh/plZL0xtrQWgjVxOmseUkyJ/1TyBTCLM74BVqKkjp+geYI/6/LNFqV86
5icSdI8b+QasDiIBhHnidbMUUwKBgQDBbjnDNxRRfvhar66JDqE8c0EZtaIcy2ZU
MHsp1+JTtJF+qUKWNj7ow6PKEPKT3jg15GrSJhIp9OCL4INlmd7mFt0LyvrcNqoy
XrCzqYCQysxhH6N0rTRb75Qz5SzYWnNYVlF7E9hwQnNcsEl253SF2kuqdy1WvORs
Ysd68qix5wKBgFVZqMhAIRGZsKinFAar0UegQDq/QBv/lBFfORuvW3+96a398eF7
pnwPB/kUfwSavIKl2xk1uxN1dZy+/QGQHu62yqjVaMNCX47f7ApAkTqt27oU1cde
z5uCYYEEoqU95QMaqA1b2OBepfcZgYvjxXJmh62tObgcpXstwyNBNIVNAoGAGhdM
I1DipLuDtHfOCx62EPla5qThYRDulJyVgGdmV/QbTAJ4wNpAUhVRmof+sINhAaP1
5LLN8Grffv6huqqurkqXNmgCvoGBI5oyK4nJlb5FIzSpT6utTFlcnENlcSmCNYAv
LXLX1wyfkvkUb714sjVnz26T5wdDqHsKfUMODjECgYA8qcB0x9GD1+ueuSRKgvQ+
YvtcfgdPPrbfqiWv5vyPjC5K5JMvtpybh3xgKdMxmH8+GZYKytJXovGRMfI609jg
OFqc/g6UmHNRrZwCa79aiJCzoVOUOrH21QPtvdO0d82Hpbgpy7cG5yN+abOE05nX
nb3lEvPVX7NwflmJGY25Sw==
-----END PRIVATE KEY-----
"""

PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAlczLN+YY2wlcuJbOiwD5
BzteJYHNHXYFaoggSOom5REDJ2iR0ffTiERpfX5d/q3WmowTx/LVabXRo9KT1+hc
43u5YFUoGH4eepxKKPahDu5vt2JWMxmK+BXDfDOl+iYaQTutAvb358sciR42fjNI
wxhhz3lvo37I3NsNs6ANA2yhE0LTRoEcvdjZ4OMYLlIRAR0xB1ODXKLlb9A3Wo6m
pz4e/gV3wMOfByqPMGv5wBQuU5o0PsFSfD23vie/konIwRdmt9kFBAERgjUWuLof
H11pNy4NaX7UwQDfYOMz7FdRzL1xFh2Dqs5lFZ4QnmLxOimGjQ5NRlsemkoC0hy5
5QIDAQAB
-----END PUBLIC KEY-----
"""

# An Ed25519 key: fine PEM, but not a key these signatures may use.
ED25519_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAq+vkjvm6daAo4GxhTd2LSZDcdCoZtZ1CkQxqbsY27Rw=
-----END PUBLIC KEY-----
"""

NOW = datetime(2023, 12, 20, 10, 0, tzinfo=UTC)
DATE = "Wed, 20 Dec 2023 10:00:00 GMT"
KEY_ID = "https://local.example/users/alice#main-key"
ACTOR_URL = "https://remote.example/users/bob"
INBOX_URL = "https://remote.example/users/bob/inbox"
BODY = b'{"type":"Follow","actor":"https://local.example/users/alice","object":"https://remote.example/users/bob"}'
BODY_DIGEST = "SHA-256=sBYALdjri/DR2frfKfMcmTmdSRvIT7gvsXyZABelqxg="

GET_SIGNATURE = (
    'keyId="https://local.example/users/alice#main-key",algorithm="rsa-sha256",'
    'headers="(request-target) host date accept",'
    'signature="KYnN/hz0gAMtkxVsRlAXMp2Gh1R00DtaILv5DxHbJ0gOlloXXrxzEr7zmjIqQD+Pg/prMBsBPg2ZUFwQU/l7Nnk/wMAPPYzCUtSzWIG'
    "nvGarWLXIpIRBskRnX6+xtDqm8nhKkKFCWGN3qPyz8vfoaDMAFMxLVNg5aMOZNeggbfsUyGF/StFPkRbk6cCq6eSHOuzDinb6NZ1a6+ewBDOamxkah"
    "h/wntZdxqRGLOZgOMjt943FnCyMDjZUDH/J+6hYYJiM7BPvtRQ3TPuVr9s0g2+/tAokB7G7VrP8V1AcDpfXEdiyf4Q7Ppa+4xO3kFOEA3/3zPzkKrn"
    'EEaAWJBrA7A=="'
)
POST_SIGNATURE = (
    'keyId="https://local.example/users/alice#main-key",algorithm="rsa-sha256",'
    'headers="(request-target) host date digest content-type",'
    'signature="GcfmSFzC20rikUs+iaYl2+brv1pzXwEgyir89LrJi37Y4rs2Sq6LCm2G54pL5kW/TbunmMoNFES2kQ8vMp903AQcj8mPsyrwlj7LtSC'
    "bya3AsFJE1MfAPEqRh4kvo/H/ZNq8QdSP1bXuIWVfrpJ0WVCAetEXXJr4zui2MtmzpqS0s6dXlrjfWvmYYW3w7KAVWV66dr8Y8wdzXWyVNglCajjU6"
    "ZiFQVEY48JMhze3nFKbQ5EQ8ooom2rdPUMgJYnkz/PxWir+UfWEyJCnA1fQfttGptBhKhIchZ7ic4bIDqJRJpn24FVEdR8+c/aaqXq7xz8mkmyaQ86"
    'ZPTuU3pdyqw=="'
)
RFC9421_SIGNATURE_INPUT = (
    'sig1=("@method" "@target-uri" "@authority" "content-digest");'
    'created=1703066400;keyid="https://local.example/users/alice#main-key";alg="rsa-v1_5-sha256"'
)


def lookup(key_id: str) -> str:
    assert key_id == KEY_ID
    return PUBLIC_KEY


def known_key(key_id: str) -> str | None:
    """A lookup that, unlike ``lookup``, answers (with nothing) for keyIds it does not know."""
    return PUBLIC_KEY if key_id == KEY_ID else None


@pytest.fixture(scope="module")
def other_public_key() -> str:
    return generate_key_pair()[1]


def signed_get(url: str = ACTOR_URL) -> dict[str, str]:
    return sign_request("GET", url, {}, None, KEY_ID, PRIVATE_KEY, now=NOW)


def signed_post(body: bytes = BODY) -> dict[str, str]:
    return sign_request("POST", INBOX_URL, {}, body, KEY_ID, PRIVATE_KEY, now=NOW)


def hand_signed(signing_string: str, **params: str) -> str:
    """A Signature header whose signature covers ``signing_string``, for the cases sign_request never makes."""
    raw = load_private_key(PRIVATE_KEY).sign(signing_string.encode(), padding.PKCS1v15(), hashes.SHA256())
    params = {"keyId": KEY_ID, **params, "signature": base64.b64encode(raw).decode()}
    return ",".join(f'{name}="{value}"' for name, value in params.items())


# -- signing ------------------------------------------------------------------


def test_a_get_is_signed_as_mastodon_signs_it() -> None:
    assert signed_get() == {
        "Host": "remote.example",
        "Date": DATE,
        "Accept": "application/activity+json, application/ld+json",
        "Signature": GET_SIGNATURE,
    }


def test_a_post_is_signed_with_its_digest_and_content_type() -> None:
    assert signed_post() == {
        "Host": "remote.example",
        "Date": DATE,
        "Digest": BODY_DIGEST,
        "Content-Type": "application/activity+json",
        "Signature": POST_SIGNATURE,
    }


def test_signing_keeps_the_callers_headers_and_does_not_change_them() -> None:
    given = {"date": "Wed, 20 Dec 2023 09:59:00 GMT", "User-Agent": "fedikit", "Digest": "SHA-256=stale"}
    headers = sign_request("POST", "http://remote.example:8080/inbox?x=1", given, BODY, KEY_ID, PRIVATE_KEY, now=NOW)
    assert given["Digest"] == "SHA-256=stale"
    assert headers["date"] == "Wed, 20 Dec 2023 09:59:00 GMT"
    assert headers["Host"] == "remote.example:8080"
    assert headers["Digest"] == BODY_DIGEST
    assert "Date" not in headers
    assert headers["User-Agent"] == "fedikit"
    assert verify_cavage("POST", "/inbox?x=1", headers, BODY, lookup, NOW) == KEY_ID


def test_dates_are_rfc_7231() -> None:
    assert format_http_date(datetime(2024, 2, 29, 23, 5, 9, 999, tzinfo=UTC)) == "Thu, 29 Feb 2024 23:05:09 GMT"


# -- draft-cavage round trips -------------------------------------------------


def test_a_signed_get_verifies() -> None:
    assert verify_cavage("GET", "/users/bob", signed_get(), None, lookup, NOW) == KEY_ID


def test_a_signed_post_verifies() -> None:
    assert verify_cavage("POST", "/users/bob/inbox", signed_post(), BODY, lookup, NOW) == KEY_ID


def test_header_names_are_case_insensitive() -> None:
    headers = {name.upper(): value for name, value in signed_post().items()}
    assert verify_cavage("post", "/users/bob/inbox", headers, BODY, lookup, NOW) == KEY_ID


def test_a_query_string_is_signed_and_like_mastodon_may_be_left_out() -> None:
    with_query = signed_get(f"{ACTOR_URL}/outbox?page=true")
    assert verify_cavage("GET", "/users/bob/outbox?page=true", with_query, None, lookup, NOW) == KEY_ID
    without_query = signed_get(f"{ACTOR_URL}/outbox")
    assert verify_cavage("GET", "/users/bob/outbox?page=true", without_query, None, lookup, NOW) == KEY_ID
    with pytest.raises(KeyMismatchError):
        verify_cavage("GET", "/users/bob/outbox?page=false", with_query, None, lookup, NOW)


def test_extra_signed_headers_are_accepted() -> None:
    headers = {"Host": "remote.example", "Date": DATE, "Digest": BODY_DIGEST, "User-Agent": "bovine/0.5"}
    signing_string = (
        f"(request-target): post /inbox\nhost: remote.example\ndate: {DATE}\n"
        f"digest: {BODY_DIGEST}\nuser-agent: bovine/0.5"
    )
    headers["Signature"] = hand_signed(
        signing_string, algorithm="rsa-sha256", headers="(request-target) host date digest user-agent"
    )
    assert verify_cavage("POST", "/inbox", headers, BODY, lookup, NOW) == KEY_ID


def test_a_lower_case_digest_algorithm_is_accepted() -> None:
    headers = signed_post()
    headers["Digest"] = BODY_DIGEST.replace("SHA-256", "sha-256")
    with pytest.raises(KeyMismatchError):  # the digest checks out, but the signature covered the original text
        verify_cavage("POST", "/users/bob/inbox", headers, BODY, lookup, NOW)


def test_hs2019_with_created_and_expires() -> None:
    created, expires = int(NOW.timestamp()) - 600, int(NOW.timestamp()) + 600
    signing_string = (
        f"(request-target): get /users/bob\n(created): {created}\n(expires): {expires}\nhost: remote.example"
    )
    headers = {"Host": "remote.example"}
    headers["Signature"] = hand_signed(
        signing_string,
        algorithm="hs2019",
        created=str(created),
        expires=str(expires),
        headers="(request-target) (created) (expires) host",
    )
    assert verify_cavage("GET", "/users/bob", headers, None, lookup, NOW) == KEY_ID
    with pytest.raises(SignatureError, match="time window"):  # (expires) is respected: an hour past it, too late
        verify_cavage("GET", "/users/bob", headers, None, lookup, NOW + timedelta(minutes=71))


def test_hs2019_is_the_default_algorithm_and_uses_date_without_created() -> None:
    headers = signed_get()
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256",', "")
    assert verify_cavage("GET", "/users/bob", headers, None, lookup, NOW) == KEY_ID
    headers["Signature"] = headers["Signature"].replace("keyId=", 'algorithm="hs2019",keyId=')
    assert verify_cavage("GET", "/users/bob", headers, None, lookup, NOW) == KEY_ID


def test_a_post_may_leave_out_request_target_when_it_signs_the_digest_as_mastodon_allows() -> None:
    headers = {"Host": "remote.example", "Date": DATE, "Digest": BODY_DIGEST}
    headers["Signature"] = hand_signed(
        f"host: remote.example\ndate: {DATE}\ndigest: {BODY_DIGEST}", headers="host date digest"
    )
    assert verify_cavage("POST", "/inbox", headers, BODY, lookup, NOW) == KEY_ID


def test_a_date_within_65_minutes_is_accepted() -> None:
    verify_cavage("GET", "/users/bob", signed_get(), None, lookup, NOW + timedelta(minutes=64))
    verify_cavage("GET", "/users/bob", signed_get(), None, lookup, NOW - timedelta(minutes=59))


# -- draft-cavage refusals ----------------------------------------------------


def test_a_tampered_body_fails_its_digest() -> None:
    with pytest.raises(SignatureError, match="Invalid Digest value. Computed SHA-256 digest: "):
        verify_cavage("POST", "/users/bob/inbox", signed_post(), BODY + b" ", lookup, NOW)


def test_a_wrong_key_fails(other_public_key: str) -> None:
    with pytest.raises(KeyMismatchError, match="does not match"):
        verify_cavage("GET", "/users/bob", signed_get(), None, lambda key_id: other_public_key, NOW)


def test_an_unknown_key_fails() -> None:
    with pytest.raises(KeyMismatchError, match="Unable to fetch key"):
        verify_cavage("GET", "/users/bob", signed_get(), None, lambda key_id: None, NOW)


def test_a_non_rsa_key_fails() -> None:
    with pytest.raises(KeyMismatchError, match="only RSA"):
        verify_cavage("GET", "/users/bob", signed_get(), None, lambda key_id: ED25519_PUBLIC_KEY, NOW)


def test_a_tampered_path_or_method_fails() -> None:
    with pytest.raises(KeyMismatchError):
        verify_cavage("POST", "/users/carol/inbox", signed_post(), BODY, lookup, NOW)
    with pytest.raises(KeyMismatchError):
        verify_cavage("PUT", "/users/bob/inbox", signed_post(), BODY, lookup, NOW)


@pytest.mark.parametrize(
    ("covered", "message"),
    [
        ("host date accept", "Digest header or \\(request-target\\) pseudo-header to be signed"),
        ("(request-target) date accept", "Host header to be signed"),
        ("(request-target) host accept", "Date header or \\(created\\) pseudo-header to be signed"),
    ],
)
def test_a_weak_get_signature_fails(covered: str, message: str) -> None:
    headers = signed_get()
    headers["Signature"] = headers["Signature"].replace("(request-target) host date accept", covered)
    with pytest.raises(SignatureError, match=message):
        verify_cavage("GET", "/users/bob", headers, None, lookup, NOW)


def test_a_post_that_does_not_sign_its_digest_fails() -> None:
    headers = signed_post()
    headers["Signature"] = headers["Signature"].replace(" digest", "")
    with pytest.raises(SignatureError, match="Digest header to be signed"):
        verify_cavage("POST", "/users/bob/inbox", headers, BODY, lookup, NOW)


def test_a_signed_digest_must_be_present() -> None:
    headers = signed_post()
    del headers["Digest"]
    with pytest.raises(SignatureError, match="Digest header missing"):
        verify_cavage("POST", "/users/bob/inbox", headers, BODY, lookup, NOW)


def test_only_sha_256_digests_are_accepted() -> None:
    headers = signed_post()
    headers["Digest"] = "SHA-512=abc"
    with pytest.raises(SignatureError, match="Only SHA-256"):
        verify_cavage("POST", "/users/bob/inbox", headers, BODY, lookup, NOW)


@pytest.mark.parametrize(
    "offset", [timedelta(hours=-2), timedelta(hours=2), timedelta(minutes=-66), timedelta(days=-1)]
)
def test_a_date_outside_the_window_fails(offset: timedelta) -> None:
    headers = sign_request("GET", ACTOR_URL, {}, None, KEY_ID, PRIVATE_KEY, now=NOW + offset)
    with pytest.raises(SignatureError, match="outside acceptable time window"):
        verify_cavage("GET", "/users/bob", headers, None, lookup, NOW)


@pytest.mark.parametrize("algorithm", ["rsa-sha512", "hmac-sha256", "ed25519", ""])
def test_an_unsupported_algorithm_fails(algorithm: str) -> None:
    headers = signed_get()
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", algorithm)
    with pytest.raises(SignatureError, match="Unsupported signature algorithm"):
        verify_cavage("GET", "/users/bob", headers, None, lookup, NOW)


def test_created_is_only_for_hs2019() -> None:
    headers = signed_get()
    headers["Signature"] = headers["Signature"].replace("host date", 'host date (created)",created="1703066400')
    with pytest.raises(SignatureError, match="Invalid pseudo-header \\(created\\) for rsa-sha256"):
        verify_cavage("GET", "/users/bob", headers, None, lookup, NOW)


MALFORMED_SIGNATURES = [
    "",
    "garbage",
    "keyId",
    'keyId="unterminated',
    'keyId="a" signature="b"',
    'signature="abc"',
    f'keyId="{KEY_ID}"',
    f'keyId="{KEY_ID}",signature=""',
    f'keyId="{KEY_ID}",keyId="{KEY_ID}",signature="abc"',
    f'keyId="{KEY_ID}",headers="(request-target) host date accept",signature="not base64!"',
    f'keyId="{KEY_ID}",headers="(request-target) host date accept (unknown)",signature="abc="',
    f'keyId="{KEY_ID}",headers="(request-target) host date accept x-missing",signature="abc="',
    f'keyId="{KEY_ID}",algorithm="hs2019",created="soon",headers="(request-target) (created) host",signature="abc="',
    f'keyId="{KEY_ID}",algorithm="hs2019",created="99999999999999999999",headers="(created) host",signature="abc="',
    f'keyId="{KEY_ID}",signature="{"A" * 10240}"',
    '\x00\xff\u2603="\\',
]


@pytest.mark.parametrize("value", MALFORMED_SIGNATURES)
def test_a_malformed_signature_header_is_a_signature_error(value: str) -> None:
    headers = {**signed_get(), "Signature": value}
    with pytest.raises(SignatureError):
        verify_cavage("GET", "/users/bob", headers, None, lookup, NOW)


@pytest.mark.parametrize("date", ["yesterday", "", "Wed, 99 Dec 2023 10:00:00 GMT", "Wed, 20 Dec 99999 10:00:00 GMT"])
def test_an_unparsable_date_is_a_signature_error(date: str) -> None:
    with pytest.raises(SignatureError, match="Date"):
        verify_cavage("GET", "/users/bob", {**signed_get(), "Date": date}, None, lookup, NOW)


def test_an_unsigned_request_is_a_signature_error() -> None:
    with pytest.raises(SignatureError, match="not signed"):
        verify_cavage("GET", "/users/bob", {"Date": DATE}, None, lookup, NOW)


def test_mangled_signatures_only_ever_raise_signature_error() -> None:
    valid = signed_post()["Signature"]
    rng = random.Random(4)
    mangled = [valid[:cut] for cut in range(len(valid))]
    for _ in range(300):
        chars = list(valid)
        for _ in range(rng.randint(1, 5)):
            chars[rng.randrange(len(chars))] = rng.choice('",=\\ ()abc\x00')
        mangled.append("".join(chars))
    for value in mangled:
        if value == valid:  # a character replaced by itself
            continue
        with pytest.raises(SignatureError):
            verify_cavage("POST", "/users/bob/inbox", {**signed_post(), "Signature": value}, BODY, known_key, NOW)


def test_parse_signature_header() -> None:
    assert parse_signature_header(
        ' keyId="https://a.example/k,1", algorithm=hs2019 ,headers="a \\"b\\"",signature="x=" '
    ) == {
        "keyId": "https://a.example/k,1",
        "algorithm": "hs2019",
        "headers": 'a "b"',
        "signature": "x=",
    }


# -- key rotation -------------------------------------------------------------


def test_a_rotated_key_is_fetched_again_once(other_public_key: str) -> None:
    calls: list[tuple[str, bool]] = []

    def lookup_with_refresh(key_id: str, refresh: bool) -> str:
        calls.append((key_id, refresh))
        return PUBLIC_KEY if refresh else other_public_key

    assert verify("POST", INBOX_URL, signed_post(), BODY, lookup_with_refresh, NOW) == KEY_ID
    assert calls == [(KEY_ID, False), (KEY_ID, True)]


def test_a_good_cached_key_is_not_fetched_again() -> None:
    calls: list[bool] = []

    def lookup_with_refresh(key_id: str, refresh: bool) -> str:
        calls.append(refresh)
        return PUBLIC_KEY

    assert verify("GET", ACTOR_URL, signed_get(), None, lookup_with_refresh, NOW) == KEY_ID
    assert calls == [False]


def test_a_wrong_key_is_refetched_once_then_fails(other_public_key: str) -> None:
    calls: list[bool] = []

    def lookup_with_refresh(key_id: str, refresh: bool) -> str:
        calls.append(refresh)
        return other_public_key

    with pytest.raises(KeyMismatchError):
        verify("GET", ACTOR_URL, signed_get(), None, lookup_with_refresh, NOW)
    assert calls == [False, True]


def test_other_failures_never_fetch_a_key() -> None:
    def lookup_with_refresh(key_id: str, refresh: bool) -> str:
        raise AssertionError("no key is needed to refuse a stale request")

    with pytest.raises(SignatureError, match="time window"):
        verify("GET", ACTOR_URL, signed_get(), None, lookup_with_refresh, NOW + timedelta(hours=2))


# -- RFC 9421 -----------------------------------------------------------------


def signed_9421(body: bytes | None = BODY, method: str = "POST", url: str = INBOX_URL) -> dict[str, str]:
    return sign_rfc9421(method, url, {"Content-Type": "application/activity+json"}, body, KEY_ID, PRIVATE_KEY, now=NOW)


def test_rfc9421_signing_covers_method_target_uri_and_content_digest() -> None:
    headers = signed_9421()
    assert headers["Signature-Input"] == RFC9421_SIGNATURE_INPUT
    assert headers["Content-Digest"] == "sha-256=:sBYALdjri/DR2frfKfMcmTmdSRvIT7gvsXyZABelqxg=:"
    assert headers["Signature"].startswith(
        "sig1=:A6oaySjucGvPJy2HzlK/C2LqTWIPUpf1jFFbhVEjJZrkfpcD+/uOK4Vtb5FBtaPNfYe1H"
    )


def test_rfc9421_round_trip() -> None:
    assert verify_rfc9421("POST", INBOX_URL, signed_9421(), BODY, lookup, NOW) == KEY_ID
    get = signed_9421(None, "GET", f"{ACTOR_URL}?x=1")
    assert "Content-Digest" not in get
    assert verify_rfc9421("GET", f"{ACTOR_URL}?x=1", get, None, lookup, NOW) == KEY_ID


def test_verify_picks_rfc9421_when_signature_input_is_present() -> None:
    assert verify("POST", INBOX_URL, signed_9421(), BODY, lambda key_id, refresh: PUBLIC_KEY, NOW) == KEY_ID


def test_rfc9421_covers_derived_components_and_headers() -> None:
    url = "https://remote.example:8443/users/bob/inbox?page=2"
    headers = {"Host": "remote.example:8443", "Date": DATE, "Content-Digest": f"sha-256=:{_b64_sha256(BODY)}:"}
    components = '"@method" "@target-uri" "@authority" "@scheme" "@path" "@query" "@request-target" '
    components += '"host" "date" "content-digest"'
    params = f'({components});alg="rsa-v1_5-sha256";keyid="{KEY_ID}";created=1703066400'
    base = "\n".join(
        [
            '"@method": POST',
            f'"@target-uri": {url}',
            '"@authority": remote.example:8443',
            '"@scheme": https',
            '"@path": /users/bob/inbox',
            '"@query": ?page=2',
            '"@request-target": /users/bob/inbox?page=2',
            '"host": remote.example:8443',
            f'"date": {DATE}',
            f'"content-digest": sha-256=:{_b64_sha256(BODY)}:',
            f'"@signature-params": {params}',
        ]
    )
    raw = load_private_key(PRIVATE_KEY).sign(base.encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature-Input"] = f"fedify={params}"
    headers["Signature"] = f"fedify=:{base64.b64encode(raw).decode()}:"
    assert verify_rfc9421("POST", url, headers, BODY, lookup, NOW) == KEY_ID


def _b64_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_rfc9421_tampered_target_uri_fails() -> None:
    with pytest.raises(KeyMismatchError):
        verify_rfc9421("POST", "https://remote.example/users/carol/inbox", signed_9421(), BODY, lookup, NOW)


def test_rfc9421_tampered_body_fails() -> None:
    with pytest.raises(SignatureError, match="Invalid Content-Digest value"):
        verify_rfc9421("POST", INBOX_URL, signed_9421(), BODY + b" ", lookup, NOW)


def test_rfc9421_wrong_key_fails(other_public_key: str) -> None:
    with pytest.raises(KeyMismatchError):
        verify_rfc9421("POST", INBOX_URL, signed_9421(), BODY, lambda key_id: other_public_key, NOW)


def test_rfc9421_stale_signature_fails() -> None:
    with pytest.raises(SignatureError, match="time window"):
        verify_rfc9421("POST", INBOX_URL, signed_9421(), BODY, lookup, NOW + timedelta(hours=2))


def _with_input(headers: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {**headers, "Signature-Input": headers["Signature-Input"].replace(old, new)}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"@target-uri" ', "", "@method and @target-uri"),
        (' "content-digest"', "", "Content-Digest header to be signed"),
        ("created=1703066400;", "", "keyid and created are required"),
        (f';keyid="{KEY_ID}"', "", "keyid and created are required"),
        ("rsa-v1_5-sha256", "rsa-pss-sha512", "Unsupported signature algorithm"),
        ('"@authority"', '"@query-param";name="x"', "Unsupported covered component"),
        ('"@authority"', '"@status"', "Unsupported derived component"),
        ('"@authority"', '"x-missing"', "x-missing is missing"),
        ('"@authority"', '"@method"', "covered twice"),
        ("created=1703066400", 'created="soon"', "Invalid created"),
        ("sig1=", "sig2=", "no byte sequence labelled sig2"),
        ("sig1=", "sig0=(),sig1=", "Exactly one signature"),
        ('("@method" "@target-uri" "@authority" "content-digest")', '"@method"', "not an inner list"),
        ('"@method"', "@method", "Malformed Signature-Input"),
        ("sig1=", "Sig1=", "Malformed Signature-Input"),
    ],
)
def test_rfc9421_refusals(old: str, new: str, message: str) -> None:
    headers = _with_input(signed_9421(), old, new)
    with pytest.raises(SignatureError, match=message):
        verify_rfc9421("POST", INBOX_URL, headers, BODY, lookup, NOW)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Signature", "garbage"),
        ("Signature", "sig1=:not base64!:"),
        ("Signature", "sig1=" + ":" + "A" * 10240 + ":"),
        ("Signature-Input", ""),
        ("Signature-Input", "sig1=(,"),
        ("Content-Digest", "sha-512=:AAAA:"),
        ("Content-Digest", 'sha-256="text"'),
        ("Content-Digest", "sha-256=:AAAA:,"),
    ],
)
def test_rfc9421_malformed_headers_are_signature_errors(name: str, value: str) -> None:
    with pytest.raises(SignatureError):
        verify_rfc9421("POST", INBOX_URL, {**signed_9421(), name: value}, BODY, lookup, NOW)


def test_rfc9421_mangled_input_only_ever_raises_signature_error() -> None:
    valid = signed_9421()
    for cut in range(len(valid["Signature-Input"])):
        with pytest.raises(SignatureError):
            verify_rfc9421(
                "POST", INBOX_URL, {**valid, "Signature-Input": valid["Signature-Input"][:cut]}, BODY, known_key, NOW
            )


# -- keys ---------------------------------------------------------------------


def test_generated_keys_are_rsa_2048_pems() -> None:
    private_pem, public_pem = generate_key_pair()
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert load_private_key(private_pem).key_size == 2048
    assert load_public_key(public_pem).public_numbers() == load_private_key(private_pem).public_key().public_numbers()


def test_parsed_keys_are_cached_by_pem_text() -> None:
    assert load_private_key(PRIVATE_KEY) is load_private_key(PRIVATE_KEY.encode())
    assert load_public_key(PUBLIC_KEY) is load_public_key(PUBLIC_KEY)
    verify_cavage("GET", "/users/bob", signed_get(), None, lookup, NOW)
    misses = signatures._load_public_key.cache_info().misses
    verify_cavage("GET", "/users/bob", signed_get(), None, lookup, NOW)
    assert signatures._load_public_key.cache_info().misses == misses


@pytest.mark.parametrize("pem", ["garbage", ED25519_PUBLIC_KEY])
def test_unusable_public_keys_are_value_errors(pem: str) -> None:
    with pytest.raises(ValueError):
        load_public_key(pem)


def test_key_lookup_callable_type() -> None:
    key_lookup: Callable[[str], str | None] = lookup
    assert verify_cavage("GET", "/users/bob", signed_get(), None, key_lookup, NOW) == KEY_ID
