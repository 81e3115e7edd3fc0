"""Accounts, hashes, access rules (dasflex_core.auth) and ``dasflex passwd``."""

from __future__ import annotations

import argparse
import io
import stat
import time
from pathlib import Path

import pytest

from dasflex_core import auth
from dasflex_core.cli import main as dasflex_main
from dasflex_core.cli import passwd_cmd
from dasflex_core.errors import ForbiddenError, UnauthorizedError
from dasflex_core.model import Access, AccessRule, SourceDef
from tests.support.http import basic

FAST_SCRYPT = 2**4


def protected(*rules: AccessRule, realm: str = "Realm") -> SourceDef:
    return SourceDef("X/Y", "t", "/x", access=Access(tuple(rules), realm))


def header(user: str, password: str) -> str:
    return basic(user, password)["Authorization"]


@pytest.fixture
def accounts() -> auth.Accounts:
    users = {"ann": auth.hash_password("pw-ann", rounds=FAST_SCRYPT),
             "bob": auth.hash_password("pw-bob", scheme="pbkdf2_sha256", rounds=1000)}
    return auth.Accounts(users, {"team": frozenset({"bob"})})


@pytest.mark.parametrize("scheme", ["scrypt", "pbkdf2_sha256"])
def test_hash_round_trip(scheme: str) -> None:
    entry = auth.hash_password("s3cret", scheme=scheme, rounds=FAST_SCRYPT if scheme == "scrypt" else 100)
    assert entry.startswith(scheme + "$") and auth.hash_scheme(entry) == scheme
    assert auth.check_password("s3cret", entry)
    assert not auth.check_password("s3cret ", entry)
    assert entry != auth.hash_password("s3cret", scheme=scheme, rounds=FAST_SCRYPT if scheme == "scrypt" else 100)


def test_default_scheme_is_scrypt_with_real_cost() -> None:
    entry = auth.hash_password("x" * 9)
    assert entry.startswith(f"scrypt${auth.SCRYPT_COST[0]}$")


@pytest.mark.parametrize("entry", ["", "plain", "md5$1$a$b", "scrypt$3$8$1$s$AAAA",
                                   "scrypt$1048577$8$1$s$AAAA", "scrypt$x$8$1$s$A",
                                   "pbkdf2_sha256$0$s$A", "pbkdf2_sha256$99999999999$s$A",
                                   "pbkdf2_sha256$10$s", "{SHA}abc", "$apr1$x$y"])
def test_garbage_hashes_never_match(entry: str) -> None:
    assert not auth.check_password("", entry)
    assert not auth.check_password("plain", entry)


def test_predecessor_des_crypt_hash() -> None:
    # The predecessor shipped testuser:lLp764MZK2EPo (crypt('test', 'lL')).
    entry = "lLp764MZK2EPo"
    assert auth.hash_scheme(entry) == "des-crypt"
    if auth.legacy_crypt_available():
        assert auth.check_password("test", entry)
        assert not auth.check_password("test2", entry)
    else:
        assert not auth.check_password("test", entry)


def test_unknown_scheme_is_an_error() -> None:
    with pytest.raises(auth.AccountError, match="unknown hash scheme"):
        auth.hash_password("x", scheme="md5")


def test_group_file_layouts(tmp_path: Path) -> None:
    path = tmp_path / "group"
    path.write_text("# comment\nteam: ann, bob\nold:x:100:carol,dave\nempty:\n")
    groups = auth.read_groups(path)
    assert groups == {"team": {"ann", "bob"}, "old": {"carol", "dave"}, "empty": frozenset()}


def test_missing_account_file_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(auth.DefinitionError, match="cannot read"):
        auth.read_users(tmp_path / "nope")
    assert auth.read_users(None) == {}


@pytest.mark.parametrize("value", ["Basic", "Basic %%%", "Bearer abc", "Basic Ym9i",
                                   "Basic OnB3", "", "Basic \x00"])
def test_bad_basic_headers(value: str) -> None:
    assert auth.parse_basic(value) is None


def test_basic_header_keeps_colons_in_password() -> None:
    assert auth.parse_basic(header("ann", "a:b")) == ("ann", "a:b")


def test_user_group_rules(accounts: auth.Accounts) -> None:
    source = protected(AccessRule("USER", "ann"), AccessRule("GROUP", "team"))
    assert auth.authorize(source, authorization=header("ann", "pw-ann"), accounts=accounts) == "ann"
    assert auth.authorize(source, authorization=header("bob", "pw-bob"), accounts=accounts) == "bob"
    for bad in ("", header("ann", "wrong"), header("eve", "pw-ann")):
        with pytest.raises(UnauthorizedError) as caught:
            auth.authorize(source, authorization=bad, accounts=accounts)
        assert caught.value.realm == "Realm" and caught.value.status == 401
    with pytest.raises(ForbiddenError):
        auth.authorize(protected(AccessRule("USER", "ann")), authorization=header("bob", "pw-bob"),
                       accounts=accounts)


def test_public_source_needs_nothing() -> None:
    assert auth.authorize(SourceDef("A/B", "t", "/x")) is None
    assert auth.may_list(SourceDef("A/B", "t", "/x"))


def test_age_rule_embargoes_recent_data() -> None:
    source = protected(AccessRule("AGE", "1y"))
    assert auth.authorize(source, end_time="2001-01-01") is None
    recent = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400 * 30))
    for end in (recent, "now", "garbage", None):
        with pytest.raises(UnauthorizedError):
            auth.authorize(source, end_time=end)
    assert auth.age_seconds("1y6m") == pytest.approx(1.5 * 365.25 * 86400)
    assert auth.ended_before("2020-01-01", "1d", now=time.mktime((2020, 1, 3, 0, 0, 0, 0, 0, 0)))
    assert not auth.ended_before("2020-01-01", "5d", now=time.mktime((2020, 1, 3, 0, 0, 0, 0, 0, 0)))


def test_ip_rules_and_trusted_ranges() -> None:
    source = protected(AccessRule("IP", "10.0.0.0/8,::1/128"))
    assert auth.authorize(source, remote_addr="10.1.2.3") is None
    assert auth.authorize(source, remote_addr="::1") is None
    for address in ("11.0.0.1", "::2", "", "not-an-ip", "10.0.0.1/8"):
        with pytest.raises(UnauthorizedError):
            auth.authorize(source, remote_addr=address)
    group_only = protected(AccessRule("GROUP", "g"))
    assert auth.authorize(group_only, remote_addr="192.168.1.5", allow_from=["192.168.0.0/16"]) is None
    assert not auth.may_list(group_only, remote_addr="192.168.1.5", allow_from=["bad", "10.0.0.0/8"])
    assert auth.address_in("192.168.0.1", ["bad range", "192.168.0.0/24"])


def test_time_span_limit() -> None:
    auth.check_span("A/B", "2020-01-01", "2020-01-03", 2.0)
    auth.check_span("A/B", "2020-01-01", "2030-01-01", 0.0)
    auth.check_span("A/B", "garbage", "2030-01-01", 1.0)
    with pytest.raises(auth.TooLargeError, match="at most 2 days") as caught:
        auth.check_span("A/B", "2020-01-01", "2020-01-03T00:00:01", 2.0)
    assert caught.value.status == 413


def test_names_are_checked() -> None:
    for name in ("a:b", "a,b", "a b", "", "x" * 65, "\nroot"):
        with pytest.raises(auth.AccountError):
            auth.check_name(name)
    assert auth.check_name("ann.o-k@site") == "ann.o-k@site"


def test_passwd_functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "SCRYPT_COST", (FAST_SCRYPT, 8, 1))
    users, groups = tmp_path / "passwd", tmp_path / "group"
    passwd_cmd.set_password(users, "ann", "long-password", create=True)
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert passwd_cmd.verify_user(users, "ann", "long-password")
    with pytest.raises(auth.AccountError, match="exists"):
        passwd_cmd.set_password(users, "ann", "x", create=True)
    passwd_cmd.set_password(users, "ann", "other-password")
    assert not passwd_cmd.verify_user(users, "ann", "long-password")
    passwd_cmd.add_to_group(groups, "team", ["ann", "bob"])
    assert auth.read_groups(groups) == {"team": {"ann", "bob"}}
    passwd_cmd.remove_user(users, "ann", groups)
    assert auth.read_users(users) == {} and auth.read_groups(groups) == {"team": {"bob"}}
    passwd_cmd.remove_from_group(groups, "team", [])
    assert auth.read_groups(groups) == {}
    with pytest.raises(auth.AccountError):
        passwd_cmd.remove_user(users, "ann")


def test_read_password_sources() -> None:
    assert passwd_cmd.read_password(io.StringIO("long-password\nrest\n")) == "long-password"
    with pytest.raises(auth.AccountError, match="at least"):
        passwd_cmd.read_password(io.StringIO("short\n"))
    answers = iter(["long-password", "different-one"])
    with pytest.raises(auth.AccountError, match="do not match"):
        passwd_cmd.read_password(io.StringIO(), prompt=lambda _: next(answers))
    with pytest.raises(auth.AccountError, match="control"):
        passwd_cmd.read_password(io.StringIO("long\x07password\n"))


def test_passwd_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(auth, "SCRYPT_COST", (FAST_SCRYPT, 8, 1))
    users, groups = tmp_path / "passwd", tmp_path / "group"
    files = ["passwd", "--users", str(users), "--groups", str(groups)]
    monkeypatch.setattr("sys.stdin", io.StringIO("a-good-password\n"))
    assert passwd_cmd.run(passwd_cmd_args(files + ["add", "ann", "--group", "team"])) == 0
    assert "a-good-password" not in users.read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO("a-good-password\n"))
    assert passwd_cmd.run(passwd_cmd_args(files + ["check", "ann"])) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong\n"))
    assert passwd_cmd.run(passwd_cmd_args(files + ["check", "ann"])) == 1
    assert passwd_cmd.run(passwd_cmd_args(files + ["list"])) == 0
    assert capsys.readouterr().out == "user\tann\tscrypt\ngroup\tteam\tann\n"
    assert passwd_cmd.run(passwd_cmd_args(files + ["remove", "nobody"])) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a password is never an argument
        passwd_cmd_args(files + ["add", "bob", "secret-password"])


def passwd_cmd_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    passwd_cmd.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_main_knows_passwd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert dasflex_main(["passwd", "--users", str(tmp_path / "u"), "list"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_no_account_ships_by_default() -> None:
    from dasflex_core.settings import Settings

    root = Path(__file__).resolve().parents[2]
    assert Settings.__dataclass_fields__["users_file"].default is None
    shipped = [p for p in (root / "examples").rglob("*") if p.name in ("passwd", "group", "users")]
    assert shipped == []


def test_admits_user_names_only_user_and_group_rules(accounts: auth.Accounts) -> None:
    source = protected(AccessRule("USER", "ann"), AccessRule("GROUP", "team"),
                       AccessRule("AGE", "1y"), AccessRule("IP", "10.0.0.0/8"))
    assert auth.admits_user(source, "ann", accounts)
    assert auth.admits_user(source, "bob", accounts)  # via the group
    assert not auth.admits_user(source, "eve", accounts)
    assert not auth.admits_user(protected(AccessRule("IP", "10.0.0.0/8")), "ann", accounts)
    assert not auth.admits_user(SourceDef("P/Q", "t", "/x"), "ann", accounts)
