/**
 * Token sampler. Construct once per vocabulary size and request: every buffer is allocated up front, so sampling a
 * token allocates nothing.
 *
 * Pipeline per token (order matters and is fixed):
 *   logits → logit_bias → penalties (repetition ÷/×, then frequency/presence −) → [logprobs taken here]
 *          → constraint mask (a grammar's forbidden tokens → −∞) → temperature 0 ? argmax (lowest id on ties)
 *          : temperature → top_k → top_p (on the renormalized top-k set) → min_p (relative to the top token) → draw.
 * Logprobs are the log-softmax over the whole vocabulary of the biased and penalized logits, before temperature and
 * truncation — as OpenAI reports them, a token cut by top_p still has a finite logprob.
 */
import { InvalidArgumentError, ModelFormatError } from "../errors.js";
import { MAX_TOP_LOGPROBS, resolveSamplingParams, type ResolvedSamplingParams, type SamplingParams } from "./params.js";
import { Rng } from "./rng.js";

export interface TokenLogprob {
  id: number;
  logprob: number;
}

/** Forbids tokens before each draw (a grammar: lib/grammar). Called once per sampled token, before truncation. */
export interface LogitsConstraint {
  /** Sets the logit of every token that may not come next to −Infinity, in place. */
  mask(logits: Float32Array): void;
}

export class Sampler {
  readonly vocabSize: number;
  readonly params: Readonly<ResolvedSamplingParams>;

  private readonly rng: Rng;
  private readonly work: Float32Array;
  private readonly probs: Float32Array;
  private readonly cand: Int32Array;
  private readonly ring: Int32Array;
  private ringLen = 0;
  private ringPos = 0;
  private readonly counts: Uint32Array;
  private readonly stamp: Uint32Array;
  private stampGen = 0;
  private readonly topIds: Int32Array;
  private readonly topVals: Float64Array;
  private topCount = 0;
  private logSumExp = 0;
  private chosenLogprob = Number.NaN;
  private readonly constraint: LogitsConstraint | undefined;

  constructor(vocabSize: number, params: SamplingParams = {}, constraint?: LogitsConstraint) {
    if (!Number.isInteger(vocabSize) || vocabSize <= 0) throw new InvalidArgumentError(`vocabSize must be a positive integer, got ${vocabSize}`, "vocabSize");
    this.vocabSize = vocabSize;
    this.params = resolveSamplingParams(params, vocabSize);
    this.rng = new Rng(this.params.seed);
    this.work = new Float32Array(vocabSize);
    this.probs = new Float32Array(vocabSize);
    this.cand = new Int32Array(vocabSize);
    this.ring = new Int32Array(Math.max(1, this.params.penaltyLastN));
    this.counts = new Uint32Array(vocabSize);
    this.stamp = new Uint32Array(vocabSize);
    this.topIds = new Int32Array(MAX_TOP_LOGPROBS);
    this.topVals = new Float64Array(MAX_TOP_LOGPROBS);
    this.constraint = constraint;
  }

  /** Records a token (prompt or generated) for the penalties. */
  accept(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new InvalidArgumentError(`token id ${id} is outside the vocabulary`, "id");
    const n = this.params.penaltyLastN;
    if (n === 0) return;
    if (this.ringLen === n) this.counts[this.ring[this.ringPos]!]!--;
    else this.ringLen++;
    this.ring[this.ringPos] = id;
    this.counts[id]!++;
    this.ringPos = (this.ringPos + 1) % n;
  }

  /** Forgets accepted tokens (a new request reusing this sampler); the random stream continues. */
  reset(): void {
    for (let i = 0; i < this.ringLen; i++) this.counts[this.ring[i]!] = 0;
    this.ringLen = 0;
    this.ringPos = 0;
  }

  /** Picks the next token from `logits` (length vocabSize; not modified). Does not `accept` it. */
  sample(logits: ArrayLike<number>): number {
    this.preprocess(logits);
    let id: number;
    if (this.params.temperature === 0) id = this.argmax();
    else {
      const n = this.truncate();
      id = this.draw(n);
    }
    if (this.params.logprobs) this.chosenLogprob = this.work[id]! - this.logSumExp;
    return id;
  }

  /** Log-probability of the token `sample` just returned (NaN unless `logprobs` was requested). */
  get lastLogprob(): number {
    return this.chosenLogprob;
  }

  /** The `topLogprobs` most likely tokens of the last step, most likely first (allocates; call only when reporting). */
  lastTopLogprobs(): TokenLogprob[] {
    const out: TokenLogprob[] = [];
    for (let i = 0; i < this.topCount; i++) out.push({ id: this.topIds[i]!, logprob: this.topVals[i]! - this.logSumExp });
    return out;
  }

  /**
   * The truncated candidate set the next draw would use, with probabilities renormalized over it, most likely first
   * (for inspection and tests; allocates). With temperature 0 it is the argmax alone.
   */
  candidates(logits: ArrayLike<number>): TokenLogprob[] {
    this.preprocess(logits);
    if (this.params.temperature === 0) return [{ id: this.argmax(), logprob: 0 }];
    const n = this.truncate();
    sortByProbDesc(this.cand, 0, n - 1, this.probs);
    const ids = Array.from(this.cand.subarray(0, n));
    let total = 0;
    for (const id of ids) total += this.probs[id]!;
    return ids.map((id) => ({ id, logprob: Math.log(this.probs[id]! / total) }));
  }

  private preprocess(logits: ArrayLike<number>): void {
    const V = this.vocabSize;
    if (logits.length !== V) throw new InvalidArgumentError(`logits has ${logits.length} entries, the vocabulary ${V}`, "logits");
    const w = this.work;
    if (logits instanceof Float32Array) w.set(logits);
    else for (let i = 0; i < V; i++) w[i] = logits[i]!;
    let finite = false;
    for (let i = 0; i < V; i++) {
      const x = w[i]!;
      if (x !== x) w[i] = -Infinity; // NaN never wins
      else if (x > -Infinity && x < Infinity) finite = true;
    }
    // Before any bias or penalty: logits that are all NaN/±Inf come from broken weights, not from the request.
    if (!finite) {
      throw new ModelFormatError("the model produced no finite logit (NaN or infinite values): its weights are corrupt");
    }
    const p = this.params;
    for (let i = 0; i < p.biasIds.length; i++) w[p.biasIds[i]!]! += p.biasValues[i]!;
    if (this.ringLen > 0 && (p.repetitionPenalty !== 1 || p.frequencyPenalty !== 0 || p.presencePenalty !== 0)) this.applyPenalties();
    if (p.logprobs) this.computeLogprobs();
    this.constraint?.mask(w);
  }

  private applyPenalties(): void {
    const { repetitionPenalty: rp, frequencyPenalty: fp, presencePenalty: pp } = this.params;
    const w = this.work;
    const gen = ++this.stampGen;
    for (let i = 0; i < this.ringLen; i++) {
      const t = this.ring[i]!;
      if (this.stamp[t] === gen) continue; // once per distinct token
      this.stamp[t] = gen;
      let x = w[t]!;
      x = x > 0 ? x / rp : x * rp;
      w[t] = x - this.counts[t]! * fp - pp;
    }
  }

  private computeLogprobs(): void {
    const w = this.work;
    const V = this.vocabSize;
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (w[i]! > max) max = w[i]!;
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(w[i]! - max);
    this.logSumExp = max + Math.log(sum);
    // Top-N by insertion into a short sorted list (N ≤ MAX_TOP_LOGPROBS), lowest id first on ties.
    const N = this.params.topLogprobs;
    let count = 0;
    for (let i = 0; i < V && N > 0; i++) {
      const x = w[i]!;
      if (count === N && x <= this.topVals[N - 1]!) continue;
      let j = count < N ? count++ : N - 1;
      while (j > 0 && this.topVals[j - 1]! < x) {
        this.topVals[j] = this.topVals[j - 1]!;
        this.topIds[j] = this.topIds[j - 1]!;
        j--;
      }
      this.topVals[j] = x;
      this.topIds[j] = i;
    }
    this.topCount = count;
  }

  private argmax(): number {
    const w = this.work;
    let best = 0;
    for (let i = 1; i < this.vocabSize; i++) if (w[i]! > w[best]!) best = i;
    return best;
  }

  /** Fills cand[0..n) and probs[] (unnormalized; the top token weighs 1) with the surviving tokens; returns n. */
  private truncate(): number {
    const { temperature: T, topK, topP, minP } = this.params;
    const w = this.work;
    const cand = this.cand;
    const probs = this.probs;
    const V = this.vocabSize;
    const useTopK = topK > 0 && topK < V;
    let max = -Infinity;
    if (useTopK) {
      selectTopK(w, V, topK, cand);
      for (let i = 0; i < topK; i++) if (w[cand[i]!]! > max) max = w[cand[i]!]!;
    } else {
      for (let i = 0; i < V; i++) if (w[i]! > max) max = w[i]!;
    }
    if (max === -Infinity) throw new InvalidArgumentError("every token has a logit of -Infinity (or NaN) after logit_bias and the constraint; nothing to sample", "logits");
    // Without top_p, min_p alone decides: tokens under its cutoff need no exp at all. With top_p they still count
    // towards the mass top_p is measured against, so every token is weighed.
    const cutoff = minP > 0 && topP === 1 ? max + T * Math.log(minP) : -Infinity;
    const invT = 1 / T;
    let n = 0;
    let total = 0;
    const count = useTopK ? topK : V;
    for (let i = 0; i < count; i++) {
      const id = useTopK ? cand[i]! : i;
      const x = w[id]!;
      if (x === -Infinity || x < cutoff) continue;
      const p = Math.exp((x - max) * invT);
      probs[id] = p;
      total += p;
      cand[n++] = id;
    }
    if (topP < 1) n = this.nucleus(n, total, topP);
    if (minP > 0) {
      // The top token's weight is exp(0) = 1, so "p ≥ minP × p_max" is "weight ≥ minP".
      let k = 0;
      for (let i = 0; i < n; i++) {
        const id = cand[i]!;
        if (probs[id]! >= minP) cand[k++] = id;
      }
      n = k;
    }
    return n;
  }

  /**
   * Keeps the most likely candidates whose cumulative probability first reaches topP (at least one). A quickselect
   * on probability mass finds that head in expected O(n) without sorting it (sorting 150k candidates cost ~30 ms).
   */
  private nucleus(n: number, total: number, topP: number): number {
    const cand = this.cand;
    const probs = this.probs;
    const target = topP * total;
    let lo = 0;
    let hi = n - 1;
    let acc = 0; // mass of cand[0..lo), always < target
    while (lo <= hi) {
      if (lo === hi) return lo + 1;
      const p = partition(cand, lo, hi, probs);
      let left = 0;
      for (let i = lo; i < p; i++) left += probs[cand[i]!]!;
      if (acc + left >= target) hi = p - 1;
      else if (acc + left + probs[cand[p]!]! >= target) return p + 1;
      else {
        acc += left + probs[cand[p]!]!;
        lo = p + 1;
      }
    }
    return Math.max(1, lo);
  }

  private draw(n: number): number {
    const cand = this.cand;
    const probs = this.probs;
    let total = 0;
    for (let i = 0; i < n; i++) total += probs[cand[i]!]!;
    let r = this.rng.nextFloat() * total;
    for (let i = 0; i < n; i++) {
      r -= probs[cand[i]!]!;
      if (r < 0) return cand[i]!;
    }
    return cand[n - 1]!;
  }
}

/** a ranks before b: larger value, then lower id (deterministic order for ties). */
function before(a: number, b: number, vals: Float32Array): boolean {
  return vals[a]! > vals[b]! || (vals[a] === vals[b] && a < b);
}

/**
 * Writes the ids of the k largest values (ties: lower id) into out[0..k), in no particular order. One pass with a
 * k-entry min-heap kept in out itself: most tokens fail the single "beats the heap's worst?" comparison.
 */
function selectTopK(vals: Float32Array, n: number, k: number, out: Int32Array): void {
  for (let i = 0; i < k; i++) out[i] = i;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(vals, out, k, i);
  for (let id = k; id < n; id++) {
    // Ids arrive in increasing order, so an equal value never beats the heap's worst (its id is lower).
    if (vals[id]! <= vals[out[0]!]!) continue;
    out[0] = id;
    siftDown(vals, out, k, 0);
  }
}

/** Heap order for selectTopK: worst first = smaller value, or equal value and larger id. */
function worse(vals: Float32Array, a: number, b: number): boolean {
  return vals[a]! < vals[b]! || (vals[a] === vals[b] && a > b);
}

function siftDown(vals: Float32Array, heap: Int32Array, size: number, i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < size && worse(vals, heap[l]!, heap[m]!)) m = l;
    if (r < size && worse(vals, heap[r]!, heap[m]!)) m = r;
    if (m === i) return;
    const t = heap[i]!;
    heap[i] = heap[m]!;
    heap[m] = t;
    i = m;
  }
}

/** Median-of-three pivot, Lomuto partition of cand[lo..hi]: better than the pivot to the left. Returns the pivot's index. */
function partition(cand: Int32Array, lo: number, hi: number, vals: Float32Array): number {
  const mid = (lo + hi) >>> 1;
  const x = cand[lo]!;
  const y = cand[mid]!;
  const z = cand[hi]!;
  const pivot = before(x, y, vals) ? (before(y, z, vals) ? y : before(x, z, vals) ? z : x) : before(x, z, vals) ? x : before(y, z, vals) ? z : y;
  const pi = pivot === x ? lo : pivot === y ? mid : hi;
  cand[pi] = cand[hi]!;
  cand[hi] = pivot;
  let store = lo;
  for (let i = lo; i < hi; i++) {
    const c = cand[i]!;
    if (before(c, pivot, vals)) {
      cand[i] = cand[store]!;
      cand[store++] = c;
    }
  }
  cand[hi] = cand[store]!;
  cand[store] = pivot;
  return store;
}

/** In-place quicksort of cand[lo..hi] best-first (TypedArray#sort on a subarray would allocate a view per token). */
function sortByProbDesc(cand: Int32Array, lo: number, hi: number, vals: Float32Array): void {
  while (lo < hi) {
    if (hi - lo < 16) {
      for (let i = lo + 1; i <= hi; i++) {
        const c = cand[i]!;
        let j = i - 1;
        while (j >= lo && before(c, cand[j]!, vals)) {
          cand[j + 1] = cand[j]!;
          j--;
        }
        cand[j + 1] = c;
      }
      return;
    }
    const p = partition(cand, lo, hi, vals);
    // Recurse into the smaller side, loop on the larger: stack depth O(log n).
    if (p - lo < hi - p) {
      sortByProbDesc(cand, lo, p - 1, vals);
      lo = p + 1;
    } else {
      sortByProbDesc(cand, p + 1, hi, vals);
      hi = p - 1;
    }
  }
}
