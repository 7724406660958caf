/**
 * Incremental stop-string matcher. Fed the decoded text deltas of a generation, it releases only text that can no
 * longer be the start of a stop string, so no part of a stop string ever reaches the caller, even when the stop
 * string arrives split across tokens ("<|e" + "nd|>").
 */
import { InvalidArgumentError } from "../errors.js";

export interface StopPushResult {
  /** Text that is safe to emit now (possibly ""). */
  text: string;
  /** A stop string was found: `text` holds everything before it, and generation should end. */
  stopped: boolean;
  /** The stop string that matched. */
  stop?: string;
}

export class StopStringMatcher {
  private readonly stops: readonly string[];
  private readonly maxLen: number;
  private held = "";
  private done = false;

  constructor(stops: readonly string[]) {
    if (!Array.isArray(stops)) throw new InvalidArgumentError("stop must be an array of strings", "stop");
    stops.forEach((s, i) => {
      if (typeof s !== "string" || s.length === 0) throw new InvalidArgumentError(`stop[${i}] must be a non-empty string`, `stop[${i}]`);
    });
    this.stops = [...stops];
    this.maxLen = this.stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  get stopped(): boolean {
    return this.done;
  }

  push(delta: string): StopPushResult {
    if (this.done) return { text: "", stopped: true };
    if (this.stops.length === 0) return { text: delta, stopped: false };
    const buf = this.held + delta;
    // Earliest match wins; at the same position the longer stop string.
    let at = -1;
    let which = "";
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at || (i === at && s.length > which.length))) {
        at = i;
        which = s;
      }
    }
    if (at >= 0) {
      this.done = true;
      this.held = "";
      return { text: buf.slice(0, at), stopped: true, stop: which };
    }
    const keep = this.partialSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** End of generation without a stop: the held text was not a stop string after all. */
  flush(): string {
    const out = this.done ? "" : this.held;
    this.held = "";
    return out;
  }

  /** Length of the longest suffix of `buf` that is a proper prefix of some stop string. */
  private partialSuffix(buf: string): number {
    for (let k = Math.min(buf.length, this.maxLen - 1); k > 0; k--) {
      const tail = buf.slice(buf.length - k);
      if (this.stops.some((s) => s.startsWith(tail))) return k;
    }
    return 0;
  }
}
