"""``dasflex passwd``: add, change and remove users and groups of protected sources.

Passwords are read from a prompt (twice) on a terminal, else from the first
line of standard input; never from the command line.  Files are written
atomically with mode 0600.  ``--users`` and ``--groups`` default to the
``users_file`` and ``groups_file`` settings.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from dasflex_core import auth
from dasflex_core.auth import AccountError
from dasflex_core.cli.common import EXIT_USAGE, add_command, one_line_errors
from dasflex_core.settings import load_settings

MIN_PASSWORD_LENGTH = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``passwd`` subcommand."""
    parser = add_command(
        subparsers, "passwd",
        description="Manage the users file (name:HASH, scrypt by default) and the groups "
        "file (group: user1, user2).  New passwords come from a prompt or standard input, "
        "never from arguments.")
    parser.add_argument("--users", type=Path, help="users file (default: the users_file setting)")
    parser.add_argument("--groups", type=Path,
                        help="groups file (default: the groups_file setting)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user (password from prompt or stdin)")
    add.add_argument("user")
    add.add_argument("--scheme", choices=("scrypt", "pbkdf2_sha256"), default="scrypt")
    add.add_argument("--group", action="append", default=[], help="also add to this group")
    change = actions.add_parser("set", help="change a user's password")
    change.add_argument("user")
    change.add_argument("--scheme", choices=("scrypt", "pbkdf2_sha256"), default="scrypt")
    remove = actions.add_parser("remove", help="remove a user (and from every group)")
    remove.add_argument("user")
    actions.add_parser("list", help="list users (with hash scheme) and groups")
    check = actions.add_parser("check", help="check a password (exit status 1 if wrong)")
    check.add_argument("user")
    join = actions.add_parser("group-add", help="add users to a group (created if new)")
    join.add_argument("group")
    join.add_argument("members", nargs="+", metavar="USER")
    leave = actions.add_parser("group-remove",
                               help="remove users from a group, or the group without USER")
    leave.add_argument("group")
    leave.add_argument("members", nargs="*", metavar="USER")
    parser.set_defaults(run=run)


@one_line_errors("passwd", EXIT_USAGE)
def run(args: argparse.Namespace) -> int:
    """Carry out one action; errors are one line on stderr and exit status 2."""
    action = args.action
    if action in ("group-add", "group-remove"):
        groups = _path(args.groups, "groups_file", "--groups")
        if action == "group-add":
            add_to_group(groups, args.group, args.members)
        else:
            remove_from_group(groups, args.group, args.members)
        return 0
    users = _path(args.users, "users_file", "--users")
    if action == "list":
        print(listing(users, _optional_path(args.groups, "groups_file")), end="")
        return 0
    if action == "check":
        return 0 if verify_user(users, args.user, read_password(confirm=False)) else 1
    if action == "remove":
        remove_user(users, args.user, _optional_path(args.groups, "groups_file"))
        return 0
    password = read_password()
    set_password(users, args.user, password, scheme=args.scheme, create=action == "add")
    if action == "add" and args.group:
        groups = _path(args.groups, "groups_file", "--groups")
        for group in args.group:
            add_to_group(groups, group, [args.user])
    return 0


def read_password(stream: TextIO | None = None, *, confirm: bool = True,
                  prompt: Callable[[str], str] | None = None) -> str:
    """A password from a prompt (a terminal) or the first line of ``stream``."""
    stream = stream or sys.stdin
    if prompt is None and stream.isatty():
        prompt = getpass.getpass
    if prompt is not None:
        password = prompt("Password: ")
        if confirm and prompt("Again: ") != password:
            raise AccountError("the passwords do not match")
    else:
        password = stream.readline().rstrip("\r\n")
    if confirm and len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if any(not ch.isprintable() for ch in password):
        raise AccountError("the password holds control characters")
    return password


def set_password(users_file: Path, user: str, password: str, *, scheme: str = "scrypt",
                 create: bool = False) -> None:
    """Add ``user`` (``create``) or change its password; the file is made if absent."""
    auth.check_name(user)
    users = auth.read_users(users_file) if users_file.exists() else {}
    if create and user in users:
        raise auth.AccountError(f"user '{user}' exists (use 'set' to change the password)")
    if not create and user not in users:
        raise auth.AccountError(f"no user '{user}' in {users_file} (use 'add')")
    users[user] = auth.hash_password(password, scheme=scheme)
    auth.write_users(users_file, users)


def remove_user(users_file: Path, user: str, groups_file: Path | None = None) -> None:
    """Remove ``user`` from the users file and from every group."""
    users = auth.read_users(users_file) if users_file.exists() else {}
    if users.pop(user, None) is None:
        raise auth.AccountError(f"no user '{user}' in {users_file}")
    auth.write_users(users_file, users)
    if groups_file is not None and groups_file.exists():
        groups = auth.read_groups(groups_file)
        auth.write_groups(groups_file, {name: members - {user} for name, members in groups.items()})


def verify_user(users_file: Path, user: str, password: str) -> bool:
    """True when ``password`` is ``user``'s password."""
    return auth.Accounts(auth.read_users(users_file)).verify(user, password)


def add_to_group(groups_file: Path, group: str, members: Iterable[str]) -> None:
    """Add ``members`` to ``group`` (created if new); the file is made if absent."""
    auth.check_name(group, "group")
    names = {auth.check_name(name) for name in members}
    groups = dict(auth.read_groups(groups_file)) if groups_file.exists() else {}
    groups[group] = groups.get(group, frozenset()) | names
    auth.write_groups(groups_file, groups)


def remove_from_group(groups_file: Path, group: str, members: Iterable[str]) -> None:
    """Remove ``members`` from ``group``, or the whole group when none are named."""
    groups = dict(auth.read_groups(groups_file)) if groups_file.exists() else {}
    if group not in groups:
        raise auth.AccountError(f"no group '{group}' in {groups_file}")
    names = set(members)
    if names:
        groups[group] = groups[group] - names
    else:
        del groups[group]
    auth.write_groups(groups_file, groups)


def listing(users_file: Path, groups_file: Path | None) -> str:
    """``user NAME SCHEME`` and ``group NAME MEMBERS`` lines (no hashes)."""
    lines = [f"user\t{name}\t{auth.hash_scheme(entry)}"
             for name, entry in sorted(auth.read_users(users_file).items())]
    if groups_file is not None and groups_file.exists():
        lines += [f"group\t{name}\t{','.join(sorted(members))}"
                  for name, members in sorted(auth.read_groups(groups_file).items())]
    return "".join(f"{line}\n" for line in lines)


def _optional_path(given: Path | None, setting: str) -> Path | None:
    if given is not None:
        return given

    path: Path | None = getattr(load_settings(), setting)
    return path


def _path(given: Path | None, setting: str, option: str) -> Path:
    path = _optional_path(given, setting)
    if path is None:
        raise AccountError(f"no {setting.replace('_', ' ')}: pass {option} or set {setting}")
    return path
