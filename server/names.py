"""Display names (avatars, mocap performers): what a name may contain so that nobody can spoof another.

A name is NFC-normalised, 1 to `max_name_chars` characters, and has no control, format (zero-width,
bidi override, ...), surrogate, private-use or unassigned code points; inner runs of spaces collapse.
"""

from __future__ import annotations

import unicodedata

from server import limits

_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class InvalidName(ValueError):
    """A display name that breaks the rules; the message says which rule, in words."""


def check_display_name(name: str, max_chars: int | None = None) -> str:
    """The cleaned name, or InvalidName saying what is wrong (`max_chars`: default max_name_chars)."""
    if not isinstance(name, str):
        raise InvalidName("the name must be text")
    max_chars = max_chars or int(limits.get("max_name_chars"))
    for ch in name:
        category = unicodedata.category(ch)
        if category in _FORBIDDEN_CATEGORIES:
            raise InvalidName(f"the name contains an invisible or control character (U+{ord(ch):04X}); "
                             "use letters, digits, spaces and punctuation")
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not cleaned:
        raise InvalidName("the name is empty")
    if len(cleaned) > max_chars:
        raise InvalidName(f"the name is longer than {max_chars} characters")
    return cleaned
