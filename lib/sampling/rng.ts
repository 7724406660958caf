/**
 * xoshiro128** with splitmix32 seeding, in 32-bit integer arithmetic (Math.imul, >>> 0) only, so a seed gives the
 * same stream in Node, workerd and browsers. Unseeded generators take their seed from crypto.getRandomValues.
 */

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** @param seed any safe integer (both 32-bit halves are used); omitted = random. */
  constructor(seed?: number) {
    this.reseed(seed);
  }

  reseed(seed?: number): void {
    let lo: number;
    let hi: number;
    if (seed === undefined) {
      const buf = new Uint32Array(2);
      crypto.getRandomValues(buf);
      lo = buf[0]!;
      hi = buf[1]!;
    } else {
      lo = seed >>> 0;
      hi = Math.floor(seed / 4294967296) >>> 0;
    }
    const st = { s: (lo ^ Math.imul(hi, 0x27d4eb2d)) | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
