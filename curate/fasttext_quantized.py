"""fastText's `predict` for quantized supervised models with a hierarchical softmax (lid.176.ftz), in numba.

The same labels and bit-identical probabilities as the `fasttext` package (tests/test_fasttext_quantized.py
holds them against it on the register pages and the lingua test sentences) for ~2.8x less CPU: fastText
builds each token's character n-grams as strings and looks each up in a hash map; here one pass over
the batch's UTF-8 bytes hashes them in place, a bitset turns away the n-grams the quantization pruned,
and a bounded cache keeps the rows of recently seen tokens (their order and the arithmetic unchanged).

What it computes, written from the `.ftz` format (format version 12) and fastText's behaviour:
- A line is read as fastText reads a file line: tokens are the bytes between blanks (space, `\\n`, `\\r`,
  `\\t`, `\\v`, `\\f`, NUL); `predict` appends `\\n`, which reads as the end-of-sentence token `</s>`, and
  reading stops after a `</s>` token; tokens starting with the label prefix are not words.
- A token's rows of the input matrix: a word of the vocabulary has its own row, then the rows of the
  character n-grams (`minn`..`maxn` UTF-8 characters) of `<token>`; n-gram rows are FNV-1a hashes of their
  bytes (each byte sign-extended, as fastText's `char` is) modulo `bucket`, kept only where the
  quantization kept that bucket.
- The hidden vector: each row dequantized (its norm times its centroids, in float32) added in reading
  order, then multiplied by float32(1 / rows).
- Hierarchical softmax over the Huffman tree of the label counts, depth first (left: 1 - sigmoid), a
  branch dropped when its log-probability falls below log(threshold + 1e-5) or below the k-th best found
  so far; a label's probability is exp of its log-probability, all in fastText's float32/double steps.
Where two of a text's candidates tie, the order fastText gives them depends on its heap: such a text is
passed to the `fasttext` package (none of the register pages or lingua sentences has one). `load` returns
the `fasttext` package's model for any other kind of model (not quantized, softmax, word n-grams).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .jit import njit_cached

MAGIC, VERSION = 793712314, 12
SUPERVISED, HIERARCHICAL_SOFTMAX = 3, 1  # fastText's model_name::sup and loss_name::hs
LABEL_PREFIX = b"__label__"  # fastText's default `-label`; the file does not store it
END_OF_SENTENCE = b"</s>"
KSUB = 256  # centroids per subquantizer
CACHE_SLOTS = 1 << 16  # tokens whose rows are kept (fixed memory: 8 MB a model)
# A slot is 32 int32 (two cache lines): the token's length, its row count, its bytes, its rows.
CACHE_KEY_BYTES = 24  # longer tokens are not kept
CACHE_ROWS = 24  # nor tokens with more rows
_KEY, _ROWS = 2, 2 + CACHE_KEY_BYTES // 4  # where a slot's bytes and rows start, in int32
_BLANK = np.zeros(256, np.bool_)
_BLANK[[ord(c) for c in " \n\r\t\v\f\0"]] = True
# fastText hashes `char`s: bytes >= 0x80 are negative and sign-extended to 32 bits before the XOR
_SIGNED_BYTE = np.array([(b - 256 if b >= 128 else b) & 0xFFFFFFFF for b in range(256)], np.uint64)
_LABEL_PREFIX = np.frombuffer(LABEL_PREFIX, np.uint8)


class UnsupportedModel(ValueError):
    """A fastText file this module does not compute (the `fasttext` package does)."""


@dataclass
class _Model:
    dim: int
    minn: int
    maxn: int
    bucket: int
    words: list[bytes]  # the vocabulary's words, by id
    label_counts: list[int]
    labels: list[str]
    pruned: np.ndarray  # (bucket, kept row) pairs
    rows: np.ndarray  # dequantized input rows, float32 (rows, dim)
    output: np.ndarray  # float32 (labels, dim); internal node n uses row n - labels


def read_model(path: str | Path) -> _Model:
    """The parts of a quantized supervised `.ftz` that `predict` uses; `UnsupportedModel` for anything else."""
    data = Path(path).read_bytes()
    at = 0

    def take(fmt: str) -> Any:
        nonlocal at
        values = struct.unpack_from("<" + fmt, data, at)
        at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def array(dtype: Any, count: int) -> np.ndarray:
        nonlocal at
        values = np.frombuffer(data, dtype, count, at)
        at += values.nbytes
        return values

    if len(data) < 64 or take("ii") != (MAGIC, VERSION):
        raise UnsupportedModel(f"{path}: not a fastText file of format version {VERSION}")
    dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _lr_update = take("12i")
    take("d")  # sampling threshold t
    size, nwords, nlabels = take("3i")
    take("q")  # tokens seen in training
    pruned_count = take("q")
    entries = []
    for _ in range(size):
        end = data.index(b"\0", at)
        word, at = data[at:end], end + 1
        entries.append((word, take("q"), take("b")))
    pruned = array(np.int32, 2 * max(pruned_count, 0)).reshape(-1, 2)
    quantized = take("?")
    if (model, loss, word_ngrams, quantized) != (SUPERVISED, HIERARCHICAL_SOFTMAX, 1, True) or not 0 < minn <= maxn or pruned_count < 0:
        raise UnsupportedModel(f"{path}: not a quantized, pruned supervised model with a hierarchical softmax, character n-grams and no word n-grams")
    if END_OF_SENTENCE not in (word for word, _, _ in entries[:nwords]):
        raise UnsupportedModel(f"{path}: no {END_OF_SENTENCE!r} in the vocabulary")  # fastText's own models keep it
    if any(kind != 0 for _, _, kind in entries[:nwords]) or any(kind != 1 for _, _, kind in entries[nwords:]):
        raise UnsupportedModel(f"{path}: words and labels out of order")
    with_norms, row_count, row_dim, code_bytes = take("?qqi")
    codes = array(np.uint8, code_bytes)
    pq_dim, subquantizers, sub_dim, last_sub_dim = take("4i")
    centroids = array(np.float32, pq_dim * KSUB)
    norms = np.ones(row_count, np.float32)
    if with_norms:
        norm_codes = array(np.uint8, row_count)
        if take("4i") != (1, 1, 1, 1):
            raise UnsupportedModel(f"{path}: unexpected norm quantizer")
        norms = array(np.float32, KSUB)[norm_codes]
    if take("?"):
        raise UnsupportedModel(f"{path}: quantized output matrix")
    out_rows, out_dim = take("qq")
    output = array(np.float32, out_rows * out_dim).reshape(out_rows, out_dim)
    if at != len(data) or row_dim != dim or pq_dim != dim or out_dim != dim or out_rows != nlabels:
        raise UnsupportedModel(f"{path}: unexpected layout")
    return _Model(
        dim=dim, minn=minn, maxn=maxn, bucket=bucket,
        words=[word for word, _, _ in entries[:nwords]],
        label_counts=[count for _, count, _ in entries[nwords:]],
        labels=[word.decode("utf-8") for word, _, _ in entries[nwords:]],
        pruned=pruned,
        rows=_dequantize(codes.reshape(row_count, subquantizers), centroids, norms, sub_dim, last_sub_dim),
        output=output.copy(),
    )


def _dequantize(codes: np.ndarray, centroids: np.ndarray, norms: np.ndarray, sub_dim: int, last_sub_dim: int) -> np.ndarray:
    """Each input row as fastText adds it: norm * centroid, one float32 product per value."""
    row_count, subquantizers = codes.shape
    dim = (subquantizers - 1) * sub_dim + last_sub_dim
    rows = np.empty((row_count, dim), np.float32)
    for m in range(subquantizers):
        width = last_sub_dim if m == subquantizers - 1 else sub_dim
        table = centroids[m * KSUB * sub_dim : m * KSUB * sub_dim + KSUB * width].reshape(KSUB, width)
        rows[:, m * sub_dim : m * sub_dim + width] = norms[:, None] * table[codes[:, m]]
    return rows


def huffman_tree(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Children of each node of fastText's Huffman tree over labels sorted by count (leaves 0..n-1, root 2n-2)."""
    n = len(counts)
    left, right = np.full(2 * n - 1, -1, np.int32), np.full(2 * n - 1, -1, np.int32)
    count = [*counts] + [10**15] * (n - 1)
    leaf, node = n - 1, n
    for parent in range(n, 2 * n - 1):
        pair = []
        for _ in range(2):  # the two smallest: the next leaf (from the rarest) or the next built node
            if leaf >= 0 and count[leaf] < count[node]:
                pair.append(leaf)
                leaf -= 1
            else:
                pair.append(node)
                node += 1
        left[parent], right[parent] = pair
        count[parent] = count[pair[0]] + count[pair[1]]
    return left, right


class QuantizedFastText:
    """`predict` and `get_labels` of a quantized lid.176-like model, as the `fasttext` package answers them."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        model = read_model(path)
        self.labels = model.labels
        self.rows, self.output = model.rows, model.output
        self.left, self.right = huffman_tree(model.label_counts)
        self.minn, self.maxn, self.bucket = model.minn, model.maxn, model.bucket
        self.word_bytes = np.frombuffer(b"".join(model.words), np.uint8)
        self.word_starts = np.cumsum([0] + [len(word) for word in model.words], dtype=np.int64)
        self.end_of_sentence = model.words.index(END_OF_SENTENCE)
        (self.vocabulary, self.kept_bits, self.kept_keys, self.kept_rows, self.word_row_starts, self.word_rows) = _tables(
            self.word_bytes, self.word_starts, self.end_of_sentence, model.pruned[:, 0].astype(np.int64),
            (len(model.words) + model.pruned[:, 1]).astype(np.int32), self.minn, self.maxn, self.bucket,
        )
        self.cache = np.zeros((CACHE_SLOTS, _ROWS + CACHE_ROWS), np.int32)  # length 0: empty
        self._reference: Any = None

    def get_labels(self) -> list[str]:
        return list(self.labels)

    def predict(self, text: str | list[str], k: int = 1, threshold: float = 0.0) -> tuple[Any, Any]:
        """As `fasttext`'s: for a list, a list of label lists and a list of float32 arrays; for one
        string, a tuple of labels and a float64 array. A line must not hold `\\n`; a lone surrogate raises
        TypeError (it cannot be encoded, as it cannot cross into fastText's C++)."""
        lines = text if isinstance(text, list) else [text]
        if any("\n" in line for line in lines):
            raise ValueError("predict processes one line at a time (remove '\\n')")
        if k == -1:
            k = len(self.labels)
        elif k <= 0:
            raise ValueError("k needs to be 1 or higher!")
        k = min(k, len(self.labels))  # no more labels can come back; a larger k would only size buffers
        try:
            data = np.frombuffer(("\n".join(lines) + "\n").encode("utf-8"), np.uint8)
        except UnicodeEncodeError as error:
            raise TypeError(f"predict needs valid UTF-8 text: {error}") from None
        ends = np.flatnonzero(data == 10) + 1
        found, scores, counts = _predict_lines(
            data, ends, k, np.float32(threshold), self.vocabulary, self.word_bytes, self.word_starts,
            self.word_row_starts, self.word_rows, self.end_of_sentence, self.minn, self.maxn, self.bucket,
            self.kept_bits, self.kept_keys, self.kept_rows, self.rows, self.output, self.left, self.right,
            self.cache, self.cache.view(np.uint8),
        )
        labels, probabilities = [], []
        for i, (line, line_found, count) in enumerate(zip(lines, found.tolist(), counts.tolist())):
            if count < 0:  # tied candidates
                line_labels, line_probabilities = self._reference_model().predict([line], k, threshold)
                labels.append(line_labels[0])
                probabilities.append(line_probabilities[0])
                continue
            labels.append([self.labels[j] for j in line_found[:count]])
            probabilities.append(scores[i, :count].copy())
        if isinstance(text, list):
            return labels, probabilities
        return tuple(labels[0]), probabilities[0].astype(np.float64)

    def _reference_model(self) -> Any:
        if self._reference is None:
            import fasttext

            self._reference = fasttext.load_model(self.path)
        return self._reference


def load(path: str | Path) -> Any:
    """The model at `path`: a `QuantizedFastText` where this module computes it, else the `fasttext` package's."""
    try:
        return QuantizedFastText(path)
    except UnsupportedModel:
        import fasttext

        return fasttext.load_model(str(path))


@njit_cached(inline="always")
def _table_size(entries: int) -> int:
    """A power of two above twice `entries`: open addressing stays short."""
    size = 16
    while size <= 2 * entries:
        size *= 2
    return size


@njit_cached
def _tables(
    word_bytes: np.ndarray, word_starts: np.ndarray, end_of_sentence: int, kept_buckets: np.ndarray,
    kept_bucket_rows: np.ndarray, minn: int, maxn: int, bucket: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lookup tables: the vocabulary (open addressing over FNV-1a hashes, slot -> word id), the kept
    buckets (a bitset over all buckets, then open addressing bucket -> row), and each word's rows (its own,
    then its n-grams'; `</s>` only its own) as offsets into one array."""
    words = len(word_starts) - 1
    vocabulary = np.full(_table_size(words), -1, np.int64)
    mask = len(vocabulary) - 1
    for word in range(words):
        slot = _fnv(word_bytes, word_starts[word], word_starts[word + 1]) & mask
        while vocabulary[slot] >= 0:
            slot = (slot + 1) & mask
        vocabulary[slot] = word
    kept_bits = np.zeros((bucket + 63) // 64, np.uint64)
    kept_keys = np.full(_table_size(len(kept_buckets)), -1, np.int64)
    kept_rows = np.zeros(len(kept_keys), np.int32)
    mask = len(kept_keys) - 1
    for i in range(len(kept_buckets)):
        key = kept_buckets[i]
        kept_bits[key >> 6] |= np.uint64(1) << np.uint64(key & 63)
        slot = _spread(key) & mask
        while kept_keys[slot] >= 0:
            slot = (slot + 1) & mask
        kept_keys[slot], kept_rows[slot] = key, kept_bucket_rows[i]
    row_starts = np.zeros(words + 1, np.int64)
    found = np.empty(words + (maxn - minn + 1) * (len(word_bytes) + 2 * words), np.int32)
    spelled = np.empty(np.max(word_starts[1:] - word_starts[:-1]) + 2 if words else 2, np.uint8)
    count = 0
    for word in range(words):
        found[count] = word
        count += 1
        if word != end_of_sentence:
            count += _ngram_rows(word_bytes, word_starts[word], word_starts[word + 1], minn, maxn, bucket,
                                 kept_bits, kept_keys, kept_rows, spelled, found[count:])
        row_starts[word + 1] = count
    return vocabulary, kept_bits, kept_keys, kept_rows, row_starts, found[:count].copy()


@njit_cached(inline="always")
def _same(a: np.ndarray, a_start: int, b: np.ndarray, b_start: int, length: int) -> bool:
    for i in range(length):
        if a[a_start + i] != b[b_start + i]:
            return False
    return True


@njit_cached(inline="always")
def _add(hidden: np.ndarray, rows: np.ndarray, row: int) -> None:
    """fastText's addRow: one float32 sum per value, rows in reading order."""
    for j in range(hidden.shape[0]):
        hidden[j] += rows[row, j]


@njit_cached(inline="always")
def _fnv(data: np.ndarray, start: int, end: int) -> int:
    value = np.uint64(2166136261)
    for i in range(start, end):
        value = ((value ^ _SIGNED_BYTE[data[i]]) * np.uint64(16777619)) & np.uint64(0xFFFFFFFF)
    return np.int64(value)


@njit_cached(inline="always")
def _spread(key: int) -> int:
    """A bucket number's table slot before masking (Fibonacci hashing)."""
    return np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32))


@njit_cached(inline="always")
def _kept_row(bucket_id: int, kept_bits: np.ndarray, kept_keys: np.ndarray, kept_rows: np.ndarray) -> int:
    """The input row of an n-gram bucket, -1 where the quantization pruned it."""
    if not (kept_bits[bucket_id >> 6] >> np.uint64(bucket_id & 63)) & np.uint64(1):
        return -1
    mask = len(kept_keys) - 1
    slot = _spread(bucket_id) & mask
    while kept_keys[slot] != bucket_id:
        if kept_keys[slot] < 0:
            return -1
        slot = (slot + 1) & mask
    return kept_rows[slot]


@njit_cached(inline="always")
def _ngram_rows(
    data: np.ndarray, start: int, end: int, minn: int, maxn: int, bucket: int,
    kept_bits: np.ndarray, kept_keys: np.ndarray, kept_rows: np.ndarray, spelled: np.ndarray, found: np.ndarray,
) -> int:
    """The kept rows of the character n-grams of `<token>` (token: data[start:end]) into `found`; their number."""
    length = end - start + 2
    spelled[0] = 60  # "<"
    spelled[1 : length - 1] = data[start:end]
    spelled[length - 1] = 62  # ">"
    count = 0
    for first in range(length):
        if spelled[first] & 0xC0 == 0x80:  # a UTF-8 continuation byte starts no character
            continue
        value = np.uint64(2166136261)
        last, chars = first, 1
        while last < length and chars <= maxn:
            value = ((value ^ _SIGNED_BYTE[spelled[last]]) * np.uint64(16777619)) & np.uint64(0xFFFFFFFF)
            last += 1
            while last < length and spelled[last] & 0xC0 == 0x80:
                value = ((value ^ _SIGNED_BYTE[spelled[last]]) * np.uint64(16777619)) & np.uint64(0xFFFFFFFF)
                last += 1
            if chars >= minn and not (chars == 1 and (first == 0 or last == length)):
                row = _kept_row(np.int64(value % np.uint64(bucket)), kept_bits, kept_keys, kept_rows)
                if row >= 0:
                    found[count] = row
                    count += 1
            chars += 1
    return count


@njit_cached(inline="always")
def _std_log(x: float) -> np.float32:
    """fastText's log(x + 1e-5): x as float32, the sum and log in double, the result float32."""
    return np.float32(math.log(np.float64(np.float32(x)) + 1e-5))


@njit_cached
def _predict_lines(
    data: np.ndarray, ends: np.ndarray, k: int, threshold: np.float32, vocabulary: np.ndarray, word_bytes: np.ndarray,
    word_starts: np.ndarray, word_row_starts: np.ndarray, word_rows: np.ndarray, end_of_sentence: int,
    minn: int, maxn: int, bucket: int, kept_bits: np.ndarray, kept_keys: np.ndarray, kept_rows: np.ndarray,
    rows: np.ndarray, output: np.ndarray, left: np.ndarray, right: np.ndarray,
    cache: np.ndarray, cache_bytes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's best k labels and their probabilities, and how many it has (-1: two candidates tied)."""
    lines, dim, labels = len(ends), rows.shape[1], output.shape[0]
    found = np.full((lines, k), -1, np.int32)
    probabilities = np.zeros((lines, k), np.float32)
    counts = np.zeros(lines, np.int64)
    longest = 0
    start = 0
    for end in ends:
        longest = max(longest, end - start)
        start = end
    spelled = np.empty(longest + 2, np.uint8)
    token_rows = np.empty(1 + (maxn - minn + 1) * (longest + 2), np.int32)  # a vocabulary word is one of the tokens
    hidden = np.empty(dim, np.float32)
    stack_nodes = np.empty(2 * labels, np.int32)
    stack_scores = np.empty(2 * labels, np.float32)
    best_scores = np.empty(k, np.float32)
    best_labels = np.empty(k, np.int32)
    floor = _std_log(threshold)
    vocabulary_mask, cache_mask = len(vocabulary) - 1, len(cache) - 1
    start = 0
    for line in range(lines):
        end = ends[line]
        hidden[:] = 0
        added = 0
        at = start
        while at < end:
            if _BLANK[data[at]]:
                if data[at] == 10:  # the line's end: `</s>`, the last token
                    for j in range(word_row_starts[end_of_sentence], word_row_starts[end_of_sentence + 1]):
                        _add(hidden, rows, word_rows[j])
                        added += 1
                    break
                at += 1
                continue
            token = at
            value = np.uint64(2166136261)
            while at < end and not _BLANK[data[at]]:
                value = ((value ^ _SIGNED_BYTE[data[at]]) * np.uint64(16777619)) & np.uint64(0xFFFFFFFF)
                at += 1
            length = at - token
            if length >= len(_LABEL_PREFIX) and _same(data, token, _LABEL_PREFIX, 0, len(_LABEL_PREFIX)):
                continue
            slot = np.int64(value) & cache_mask
            if cache[slot, 0] == length and _same(data, token, cache_bytes[slot], 4 * _KEY, length):
                for j in range(_ROWS, _ROWS + cache[slot, 1]):
                    _add(hidden, rows, cache[slot, j])
                added += cache[slot, 1]
                continue
            word = -1
            probe = np.int64(value) & vocabulary_mask
            while vocabulary[probe] >= 0:
                candidate = vocabulary[probe]
                if word_starts[candidate + 1] - word_starts[candidate] == length and _same(
                    data, token, word_bytes, word_starts[candidate], length
                ):
                    word = candidate
                    break
                probe = (probe + 1) & vocabulary_mask
            if word >= 0:
                count = word_row_starts[word + 1] - word_row_starts[word]
                token_rows[:count] = word_rows[word_row_starts[word] : word_row_starts[word + 1]]
            else:
                count = _ngram_rows(data, token, at, minn, maxn, bucket, kept_bits, kept_keys, kept_rows, spelled, token_rows)
            for j in range(count):
                _add(hidden, rows, token_rows[j])
            added += count
            if word == end_of_sentence:  # a `</s>` in the text ends the line there
                break
            if length <= CACHE_KEY_BYTES and count <= CACHE_ROWS:
                cache[slot, 0], cache[slot, 1] = length, count
                cache_bytes[slot, 4 * _KEY : 4 * _KEY + length] = data[token:at]
                cache[slot, _ROWS : _ROWS + count] = token_rows[:count]
        start = end
        if added == 0:
            continue
        hidden *= np.float32(1.0 / added)
        # depth first from the root, left child first; `best_*` holds the k best leaves found so far
        size, top, lowest = 0, 1, np.float32(0.0)  # `lowest`: the worst of k best, once there are k
        stack_nodes[0], stack_scores[0] = 2 * labels - 2, np.float32(0.0)
        while top > 0:
            top -= 1
            node, score = stack_nodes[top], stack_scores[top]
            if score < floor:
                continue
            if size == k and score < lowest:
                continue
            if left[node] == -1 and right[node] == -1:
                if size < k:
                    best_scores[size], best_labels[size] = score, node
                    size += 1
                else:  # the new leaf takes the worst one's place; on a tie fastText's heap decides which goes
                    worst = 0
                    for j in range(1, k):
                        if best_scores[j] < best_scores[worst]:
                            worst = j
                    if score == best_scores[worst]:
                        counts[line] = -1
                    for j in range(k):
                        if best_scores[j] == best_scores[worst] and j != worst:
                            counts[line] = -1
                    best_scores[worst], best_labels[worst] = score, node
                if size == k:
                    lowest = best_scores[0]
                    for j in range(1, k):
                        lowest = min(lowest, best_scores[j])
                continue
            dot = np.float32(0.0)
            for j in range(dim):
                dot += output[node - labels, j] * hidden[j]
            sigmoid = np.float32(1.0 / np.float64(np.float32(1.0) + math.exp(-dot)))
            stack_nodes[top], stack_scores[top] = right[node], score + _std_log(np.float64(sigmoid))
            stack_nodes[top + 1], stack_scores[top + 1] = left[node], score + _std_log(1.0 - np.float64(sigmoid))
            top += 2
        order = np.argsort(-best_scores[:size])
        for j in range(size):
            found[line, j] = best_labels[order[j]]
            probabilities[line, j] = np.float32(math.exp(best_scores[order[j]]))
            if j and best_scores[order[j]] == best_scores[order[j - 1]]:
                counts[line] = -1
        if counts[line] == 0:
            counts[line] = size
    return found, probabilities, counts
