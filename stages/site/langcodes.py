"""Is a folder name a language code? For finding a site's languages from its folders.

A site keeps translations in folders named by language (``docs/de/``, ``content-samples/es/``),
next to folders that are not languages at all (``img/``, ``src/``, ``includes/``). Only ISO 639-1
codes count, optionally with a region or script (``pt-BR``, ``zh-hant``, ``zh_CN``), so a folder
of images is never taken for a language.
"""

from __future__ import annotations

import re

ISO_639_1 = frozenset(
    [
        "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
        "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
        "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
        "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
        "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
        "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
        "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
        "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
        "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
        "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
        "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
        "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu"
    ]
)
_CODE = re.compile(r"^(?P<lang>[a-z]{2})(?:[-_](?:[A-Za-z]{2}|[A-Za-z]{4}|\d{3}))?$")


def is_language_code(name: str) -> bool:
    """``de``, ``pt-BR``, ``zh-hant``, ``zh_CN``: yes; ``img``, ``js``, ``src``: no."""
    m = _CODE.match(name)
    return bool(m and m.group("lang") in ISO_639_1)


_SAFE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")


def is_safe_code(name: str) -> bool:
    """May a language key from a submitted config (Hugo ``[languages.<key>]``, mkdocs-static-i18n
    ``locale``) name a folder? Keys become ``out/<key>/`` and ``/<key>/`` of a release, so only
    BCP 47-shaped keys (``en``, ``pt-br``, ``zh-Hans``, ``sr_Latn_RS``) do: never ``..``, a
    slash or anything else that could leave the output."""
    return bool(_SAFE.match(name))
