/** Stop strings: split across deltas at every position, never leaked, released when they turn out not to match. */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors.js";
import { StopStringMatcher } from "../../lib/sampling/index.js";

/** Feeds `parts` and checks the invariants after each push; returns what was emitted and how it ended. */
function feed(stops: string[], parts: string[]): { out: string; stopped: boolean; stop?: string } {
  const m = new StopStringMatcher(stops);
  let out = "";
  for (const p of parts) {
    const r = m.push(p);
    out += r.text;
    for (const s of stops) expect(out.includes(s)).toBe(false);
    if (r.stopped) return { out, stopped: true, stop: r.stop! };
  }
  return { out: out + m.flush(), stopped: false };
}

/** Every way of cutting `text` into three pieces. */
function* threeWaySplits(text: string): Generator<string[]> {
  for (let i = 0; i <= text.length; i++) for (let j = i; j <= text.length; j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
}

describe("StopStringMatcher", () => {
  const stops = ["<|end|>", "\n\nUser:"];

  it("finds a stop string however the text is split into deltas", () => {
    const text = "Hello <world> end|\n\nUser: ignored <|end|>";
    let cases = 0;
    for (const parts of threeWaySplits(text)) {
      const r = feed(stops, parts);
      expect(r).toEqual({ out: "Hello <world> end|", stopped: true, stop: "\n\nUser:" });
      cases++;
    }
    expect(cases).toBeGreaterThan(800);
  });

  it("handles one character per delta", () => {
    expect(feed(stops, [..."abc<|end|>def"])).toEqual({ out: "abc", stopped: true, stop: "<|end|>" });
  });

  it("holds back a possible start and releases it when it is not a stop", () => {
    const m = new StopStringMatcher(stops);
    expect(m.push("abc<|en")).toEqual({ text: "abc", stopped: false });
    expect(m.push("d")).toEqual({ text: "", stopped: false });
    expect(m.push("X")).toEqual({ text: "<|endX", stopped: false });
    expect(m.push("\n")).toEqual({ text: "", stopped: false });
    expect(m.flush()).toBe("\n");
  });

  it("a false start followed by the real stop string", () => {
    for (const parts of threeWaySplits("<|e<|end|>")) expect(feed(stops, parts)).toEqual({ out: "<|e", stopped: true, stop: "<|end|>" });
  });

  it("earliest match wins; at the same place the longer stop", () => {
    expect(feed(["bc", "abcd"], ["xabcd"])).toEqual({ out: "x", stopped: true, stop: "abcd" });
    expect(feed(["cd", "abcdz"], ["ab", "cd"])).toEqual({ out: "ab", stopped: true, stop: "cd" });
  });

  it("emits nothing more after stopping, and passes text through with no stops", () => {
    const m = new StopStringMatcher(["x"]);
    expect(m.push("axb").text).toBe("a");
    expect(m.push("more")).toEqual({ text: "", stopped: true });
    expect(m.flush()).toBe("");
    expect(feed([], ["a", "b"])).toEqual({ out: "ab", stopped: false });
  });

  it("works with multi-byte characters and emoji in stop strings", () => {
    for (const parts of threeWaySplits("答え🙂終わり")) expect(feed(["🙂終"], parts)).toEqual({ out: "答え", stopped: true, stop: "🙂終" });
  });

  it("rejects empty or non-string stops", () => {
    expect(() => new StopStringMatcher([""])).toThrow(InvalidArgumentError);
    expect(() => new StopStringMatcher([3 as unknown as string])).toThrow(/stop\[0\]/);
  });
});
