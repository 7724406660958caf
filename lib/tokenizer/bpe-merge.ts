/**
 * The BPE merge loop shared by every tokenizer kind: symbols sit in a doubly linked list, candidate pairs in a binary
 * heap ordered by (rank, position), so a word of n symbols costs O(n log n) instead of the naive O(n²) rescans.
 * Lower rank merges first; equal ranks merge leftmost first (Hugging Face `tokenizers`, SentencePiece and llama.cpp agree).
 */

/** What merging two adjacent symbols would give: the rank to order it by, and the resulting token id. */
export interface MergeCandidate {
  rank: number;
  id: number;
}

/** Looks a pair up; returns undefined when the two symbols do not merge. */
export type PairLookup = (leftId: number, rightId: number, leftText: string, rightText: string) => MergeCandidate | undefined;

interface HeapEntry {
  rank: number;
  left: number;
  right: number;
  leftLen: number;
  rightLen: number;
  id: number;
}

function before(a: HeapEntry, b: HeapEntry): boolean {
  return a.rank < b.rank || (a.rank === b.rank && a.left < b.left);
}

class PairHeap {
  private items: HeapEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  push(e: HeapEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): HeapEntry {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Merges `texts`/`ids` (one entry per initial symbol; id -1 = not in the vocabulary) in place of a copy and returns
 * the final symbols as parallel arrays.
 */
export function bpeMerge(texts: string[], ids: number[], lookup: PairLookup): { texts: string[]; ids: number[] } {
  const n = texts.length;
  if (n < 2) return { texts, ids };
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap = new PairHeap();
  const consider = (l: number, r: number): void => {
    if (l < 0 || r < 0) return;
    const c = lookup(ids[l]!, ids[r]!, texts[l]!, texts[r]!);
    if (c === undefined) return;
    heap.push({ rank: c.rank, left: l, right: r, leftLen: texts[l]!.length, rightLen: texts[r]!.length, id: c.id });
  };
  for (let i = 0; i + 1 < n; i++) consider(i, i + 1);

  while (heap.size > 0) {
    const e = heap.pop();
    // Stale entries: a side was merged away, or grew, since this pair was queued.
    if (!alive[e.left] || !alive[e.right] || next[e.left] !== e.right) continue;
    if (texts[e.left]!.length !== e.leftLen || texts[e.right]!.length !== e.rightLen) continue;
    texts[e.left] = texts[e.left]! + texts[e.right]!;
    ids[e.left] = e.id;
    alive[e.right] = 0;
    const after = next[e.right]!;
    next[e.left] = after;
    if (after >= 0) prev[after] = e.left;
    consider(prev[e.left]!, e.left);
    consider(e.left, after);
  }
  const outTexts: string[] = [];
  const outIds: number[] = [];
  for (let i = 0; i >= 0; i = next[i]!) {
    outTexts.push(texts[i]!);
    outIds.push(ids[i]!);
  }
  return { texts: outTexts, ids: outIds };
}
