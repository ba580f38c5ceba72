"""Text from outside (tweets, author ids, brand handles) shown as text, never as markup.

`st.text` and `st.code` show text verbatim; where a line must mix in formatting, the outside
part goes through `escape_markdown` first so `**x**`, links and HTML come out literally.
"""

from __future__ import annotations

import html
import re

import pandas as pd

# every character Streamlit's Markdown gives a meaning to, plus `:` (emoji and colour codes)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$:])")


def escape_markdown(text: object) -> str:
    """`text` as literal Markdown: HTML entities escaped, every special character backslashed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def literal_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy whose `columns` show literally in `st.table` (which renders cells as Markdown)."""
    shown = frame.copy()
    for column in columns:
        if column in shown.columns:
            shown[column] = shown[column].map(escape_markdown)
    return shown
