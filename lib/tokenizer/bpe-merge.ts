/**
 * The BPE merge loop shared by every tokenizer kind: symbols sit in a doubly linked list, candidate pairs in a binary
 * heap ordered by (rank, position), so a word of n symbols costs O(n log n) instead of the naive O(n²) rescans.
 * Lower rank merges first; equal ranks merge leftmost first (Hugging Face `tokenizers`, SentencePiece and llama.cpp
 * agree). All scratch memory (list links, heap) lives in typed arrays reused from word to word.
 */

/** Filled by a PairLookup when two adjacent symbols merge. */
export interface MergeCandidate {
  rank: number;
  id: number;
}

/** Looks a pair up; returns false when the two symbols do not merge, else fills `out`. */
export type PairLookup = (leftId: number, rightId: number, leftText: string, rightText: string, out: MergeCandidate) => boolean;

function swapIn(a: Int32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** Growable typed-array scratch space. */
class Scratch {
  next = new Int32Array(64);
  prev = new Int32Array(64);
  alive = new Uint8Array(64);
  // heap, struct-of-arrays
  hRank = new Float64Array(64);
  hLeft = new Int32Array(64);
  hRight = new Int32Array(64);
  hLeftLen = new Int32Array(64);
  hRightLen = new Int32Array(64);
  hId = new Int32Array(64);
  hSize = 0;

  ensureSymbols(n: number): void {
    if (this.next.length >= n) return;
    const cap = Math.max(n, this.next.length * 2);
    this.next = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.alive = new Uint8Array(cap);
  }

  private growHeap(): void {
    const cap = this.hRank.length * 2;
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.hRank = grow(this.hRank, (n) => new Float64Array(n));
    this.hLeft = grow(this.hLeft, (n) => new Int32Array(n));
    this.hRight = grow(this.hRight, (n) => new Int32Array(n));
    this.hLeftLen = grow(this.hLeftLen, (n) => new Int32Array(n));
    this.hRightLen = grow(this.hRightLen, (n) => new Int32Array(n));
    this.hId = grow(this.hId, (n) => new Int32Array(n));
  }

  private before(i: number, j: number): boolean {
    return this.hRank[i]! < this.hRank[j]! || (this.hRank[i] === this.hRank[j] && this.hLeft[i]! < this.hLeft[j]!);
  }

  private swap(i: number, j: number): void {
    let t: number = this.hRank[i]!;
    this.hRank[i] = this.hRank[j]!;
    this.hRank[j] = t;
    swapIn(this.hLeft, i, j);
    swapIn(this.hRight, i, j);
    swapIn(this.hLeftLen, i, j);
    swapIn(this.hRightLen, i, j);
    swapIn(this.hId, i, j);
  }

  push(rank: number, left: number, right: number, leftLen: number, rightLen: number, id: number): void {
    if (this.hSize === this.hRank.length) this.growHeap();
    let i = this.hSize++;
    this.hRank[i] = rank;
    this.hLeft[i] = left;
    this.hRight[i] = right;
    this.hLeftLen[i] = leftLen;
    this.hRightLen[i] = rightLen;
    this.hId[i] = id;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Moves the top entry to index `hSize` (just past the heap) and returns that index. */
  pop(): number {
    const last = --this.hSize;
    this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.before(l, m)) m = l;
      if (r < last && this.before(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return last;
  }
}

export class BpeMerger {
  private readonly lookup: PairLookup;
  private readonly s = new Scratch();
  private readonly cand: MergeCandidate = { rank: 0, id: 0 };

  constructor(lookup: PairLookup) {
    this.lookup = lookup;
  }

  /**
   * Merges the symbols `texts`/`ids` (id -1 = not in the vocabulary) in place; returns the number of final symbols,
   * which are compacted to the front of both arrays.
   */
  merge(texts: string[], ids: number[]): number {
    const n = texts.length;
    if (n < 2) return n;
    const s = this.s;
    s.ensureSymbols(n);
    const { next, prev, alive } = s;
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      alive[i] = 1;
    }
    s.hSize = 0;
    for (let i = 0; i + 1 < n; i++) this.consider(texts, ids, i, i + 1);

    while (s.hSize > 0) {
      const e = s.pop();
      const left = s.hLeft[e]!;
      const right = s.hRight[e]!;
      // Stale entries: a side was merged away, or grew, since this pair was queued.
      if (!alive[left] || !alive[right] || next[left] !== right) continue;
      if (texts[left]!.length !== s.hLeftLen[e] || texts[right]!.length !== s.hRightLen[e]) continue;
      texts[left] = texts[left]! + texts[right]!;
      ids[left] = s.hId[e]!;
      alive[right] = 0;
      const after = next[right]!;
      next[left] = after;
      if (after >= 0) prev[after] = left;
      if (prev[left]! >= 0) this.consider(texts, ids, prev[left]!, left);
      if (after >= 0) this.consider(texts, ids, left, after);
    }
    let k = 0;
    for (let i = 0; i >= 0; i = next[i]!) {
      texts[k] = texts[i]!;
      ids[k] = ids[i]!;
      k++;
    }
    return k;
  }

  private consider(texts: string[], ids: number[], l: number, r: number): void {
    const c = this.cand;
    if (!this.lookup(ids[l]!, ids[r]!, texts[l]!, texts[r]!, c)) return;
    this.s.push(c.rank, l, r, texts[l]!.length, texts[r]!.length, c.id);
  }
}

/**
 * Open-addressing hash table from a pair of non-negative int32 ids to an int32 value, in typed arrays: a Map with
 * 280k object values took seconds to build for Llama 3.
 */
export class PairTable {
  private readonly mask: number;
  private readonly keyL: Int32Array;
  private readonly keyR: Int32Array;
  private readonly value: Int32Array;

  constructor(expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.mask = cap - 1;
    this.keyL = new Int32Array(cap).fill(-1);
    this.keyR = new Int32Array(cap);
    this.value = new Int32Array(cap);
  }

  private slot(l: number, r: number): number {
    let h = Math.imul(l, 0x9e3779b1) ^ Math.imul(r + 0x7f4a7c15, 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** Inserts unless present; returns false when the pair was already there (first insert wins). */
  insert(l: number, r: number, v: number): boolean {
    for (let i = this.slot(l, r); ; i = (i + 1) & this.mask) {
      if (this.keyL[i] === -1) {
        this.keyL[i] = l;
        this.keyR[i] = r;
        this.value[i] = v;
        return true;
      }
      if (this.keyL[i] === l && this.keyR[i] === r) return false;
    }
  }

  /** The value for (l, r), or -1. */
  get(l: number, r: number): number {
    for (let i = this.slot(l, r); ; i = (i + 1) & this.mask) {
      const k = this.keyL[i]!;
      if (k === -1) return -1;
      if (k === l && this.keyR[i] === r) return this.value[i]!;
    }
  }
}
