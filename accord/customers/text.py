"""Text as people type it and files hold it."""


def trim(text: str) -> str:
    """`text` without the spaces and line ends around it, except that a leading TAB or
    CR stays: text is stored as given, even text a spreadsheet would take for a formula
    (exports neutralise such cells), so an import keeps it verbatim."""
    return text.rstrip().lstrip(" \n\x0b\x0c")
