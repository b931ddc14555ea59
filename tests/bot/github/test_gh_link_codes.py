"""Which link codes a comment posts: only a live line that is exactly ``charterbot link <CODE>``.

Quoting, showing (code, ``<pre>``, HTML comments) or mentioning someone's code in a sentence
must not claim it: the claim links the *commenter's* login to the code's chat account.
"""

from __future__ import annotations

import pytest

from bot.github.link_codes import link_codes

CODE = "WDJB-MJHT"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # the form /charter link asks for, as pasted: any case, spacing and line endings
        (f"charterbot link {CODE}", [CODE]),
        (f"charterbot link {CODE.lower()}", [CODE]),
        (f"  CharterBot   Link\t{CODE}  ", [CODE]),
        (f"Linking my Slack account.\r\n\r\ncharterbot link {CODE}\r\n", [CODE]),
        (f"charterbot link {CODE}\ncharterbot link ABCD-EFGH", [CODE, "ABCD-EFGH"]),
        # quoted: a quote reply, nested, indented up to three spaces
        (f"> charterbot link {CODE}\n\nWhat is this?", []),
        (f">charterbot link {CODE}", []),
        (f"> > charterbot link {CODE}", []),
        (f"   > charterbot link {CODE}", []),
        # shown as code: fences, indented code, <pre> and <code> blocks, inline code
        (f"```\ncharterbot link {CODE}\n```", []),
        (f"~~~text\ncharterbot link {CODE}\n~~~", []),
        (f"Someone wrote:\n\n    charterbot link {CODE}", []),
        (f"\tcharterbot link {CODE}", []),
        (f"<pre>\ncharterbot link {CODE}\n</pre>", []),
        (f"<pre>charterbot link {CODE}</pre>", []),
        (f"<code>\ncharterbot link {CODE}", []),
        (f"`charterbot link {CODE}`", []),
        # hidden: HTML comments, on one line or several
        (f"<!-- charterbot link {CODE} -->", []),
        (f"<!--\ncharterbot link {CODE}\n-->", []),
        # inside other text: not the command /charter link asks for
        (f"Please ignore charterbot link {CODE}, it is not mine.", []),
        (f"charterbot link {CODE} please", []),
        (f"/charterbot link {CODE}", []),
        (f"charterbot link {CODE}-XY", []),
        # what is live after the code ends still counts
        (f"```\nshown\n```\ncharterbot link {CODE}", [CODE]),
        (f"> quoted\n\ncharterbot link {CODE}", [CODE]),
    ],
)
def test_link_codes_are_read_only_from_live_whole_lines(body: str, expected: list[str]) -> None:
    assert link_codes(body) == expected
