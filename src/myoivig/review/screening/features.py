"""TF-IDF text features that work for English and for Chinese (CNKI) records.

scikit-learn's default word tokenizer keeps a whole Chinese clause as one token (its default
token_pattern matches runs of word characters), so Chinese text would teach the model nothing. We
split each text into two views:

* words (Latin, Greek, Cyrillic, digits): word uni- and bigrams, as ASReview's default ELAS u4
  feature extractor (TF-IDF, ngram 1-2, sublinear tf, max_df 0.95; asreview models/models.py);
* CJK characters (Han, kana, Hangul): character uni- and bigrams within each run of CJK text,
  which is the standard substitute for word segmentation in Chinese retrieval.

Each view gets its own TF-IDF; the two are stacked and every row is L2-normalised again. Character
n-grams are taken of CJK runs only, because character n-grams of English text multiply the matrix
size (and the per-step ranking cost) several times without helping a language that has spaces.
The matrix is built once per corpus and cached by the caller; only the linear model is refitted.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# Han (incl. extension A and compatibility ideographs), Hiragana/Katakana, Hangul syllables,
# CJK punctuation is deliberately excluded so it separates runs.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_NOT_CJK = re.compile(f"[^{_CJK}]+")


def words_view(text: str) -> str:
    """The text with CJK characters blanked out (lower-cased) for the word vectorizer."""
    return _CJK_CHAR.sub(" ", text).lower()


def cjk_view(text: str) -> str:
    """Only the CJK runs of the text, separated by single spaces, for the character vectorizer."""
    return _NOT_CJK.sub(" ", text).strip()


@dataclass(frozen=True)
class FeatureSettings:
    """TF-IDF settings; defaults follow ASReview ELAS u4 for words (asreview models/models.py)."""

    word_ngram_max: int = 2
    cjk_char_ngram_max: int = 2
    sublinear_tf: bool = True
    max_df: float = 0.95
    min_df: int = 1


def build_features(texts: Sequence[str], settings: FeatureSettings | None = None) -> sp.csr_matrix:
    """Fit TF-IDF on the whole corpus (transductive, as in prioritised screening) -> CSR matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # heavy: only when fitting
    from sklearn.preprocessing import normalize

    settings = settings or FeatureSettings()
    n = len(texts)
    blocks: list[sp.csr_matrix] = []
    words = [words_view(t) for t in texts]
    if any(w.strip() for w in words):
        word_vec = TfidfVectorizer(
            lowercase=False,
            ngram_range=(1, settings.word_ngram_max),
            sublinear_tf=settings.sublinear_tf,
            max_df=settings.max_df if n > 1 else 1.0,
            min_df=settings.min_df,
            dtype=np.float32,
        )
        # ValueError: every term pruned (e.g. max_df) -> this corpus has no word features
        with contextlib.suppress(ValueError):
            blocks.append(sp.csr_matrix(word_vec.fit_transform(words)))
    cjk = [cjk_view(t) for t in texts]
    if any(cjk):
        char_vec = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(1, settings.cjk_char_ngram_max),
            sublinear_tf=settings.sublinear_tf,
            max_df=settings.max_df if n > 1 else 1.0,
            min_df=settings.min_df,
            dtype=np.float32,
        )
        try:
            char_matrix = sp.csr_matrix(char_vec.fit_transform(cjk))
            # char_wb pads with spaces; drop features that are only whitespace
            keep = [i for f, i in char_vec.vocabulary_.items() if f.strip()]
            blocks.append(sp.csr_matrix(char_matrix[:, sorted(keep)]))
        except ValueError:
            pass
    if not blocks:
        return sp.csr_matrix((n, 0), dtype=np.float32)
    stacked = sp.hstack(blocks, format="csr", dtype=np.float32)
    return sp.csr_matrix(normalize(stacked, norm="l2", copy=False))
