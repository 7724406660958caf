/** UTF-8 helpers that work the same in Workers, Node and browsers (TextEncoder/TextDecoder only). */

const encoder = new TextEncoder();
const lossyDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Invalid sequences become U+FFFD (maximal-subpart rule, same as Rust's from_utf8_lossy used by HF tokenizers). */
export function utf8DecodeLossy(bytes: Uint8Array): string {
  return lossyDecoder.decode(bytes);
}

/**
 * Length of the incomplete UTF-8 sequence at the end of `bytes[0..len)` that could still be completed by more bytes
 * (0 when the tail is complete or is already invalid and cannot become valid).
 */
export function incompleteTailLength(bytes: Uint8Array, len: number): number {
  // A lead byte can be at most 3 bytes back from the end of an unfinished sequence.
  for (let back = 1; back <= Math.min(3, len); back++) {
    const b = bytes[len - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    // Lead bytes C0, C1 and F5..FF can never start a valid sequence: nothing to wait for.
    const need = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/**
 * Accumulates bytes and releases only whole characters. Used by the streaming decoder: a token like `<0xE6>` or a
 * byte-level piece holding half of an emoji produces no text until the rest of the character arrives.
 */
export class Utf8Accumulator {
  private buf = new Uint8Array(64);
  private len = 0;

  push(bytes: Uint8Array): string {
    if (this.len + bytes.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + bytes.length));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    const keep = incompleteTailLength(this.buf, this.len);
    const ready = this.len - keep;
    if (ready === 0) return "";
    const text = utf8DecodeLossy(this.buf.subarray(0, ready));
    this.buf.copyWithin(0, ready, this.len);
    this.len = keep;
    return text;
  }

  flush(): string {
    if (this.len === 0) return "";
    const text = utf8DecodeLossy(this.buf.subarray(0, this.len));
    this.len = 0;
    return text;
  }
}
