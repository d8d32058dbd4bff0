"""Words: results into sentences, titles, badges and advice, one module per analysis.

Usage::

    from helpers.presentation.words import conversion as words   # 03's words (registers ConversionResult)
    words.closing(result)             # the page's findings block: bullets and badge
    words.lines(result)               # the findings as Markdown bullets, dispatched on the result's type

``common`` holds the generic functions (``intro``, ``lines``, ``answer``, ``evidence``, ``closing``),
the pieces every page shares and the words of the badges' rules; ``conversion``, ``spend``,
``styles`` and ``strategy`` register each result type's words; ``answers`` builds the front
page's answers from 03-05's own results. Results hold codes and numbers only, so rewording a
sentence here changes no result, and a page imports only the wording of what it shows.
"""
