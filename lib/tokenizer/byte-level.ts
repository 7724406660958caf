import { utf8Encode } from "./utf8.js";

/**
 * GPT-2's byte-level alphabet: every byte maps to a printable code point so that BPE pieces are plain strings
 * (space → `Ġ`, newline → `Ċ`). Printable Latin-1 bytes map to themselves; the rest are shifted to U+0100 and up.
 */

function buildByteToChar(): string[] {
  const table: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + shifted++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** `text`'s UTF-8 bytes written in the byte-level alphabet; ASCII (most words) skips the UTF-8 encoder. */
export function textToByteLevel(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return bytesToByteLevel(utf8Encode(text));
    out += BYTE_TO_CHAR[c];
  }
  return out;
}

/** Bytes written in the byte-level alphabet. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]!];
  return out;
}

/** Inverse of `bytesToByteLevel`; undefined when the piece holds a character outside the alphabet. */
export function byteLevelToBytes(piece: string): Uint8Array | undefined {
  const out = new Uint8Array(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const b = CHAR_TO_BYTE.get(piece[i]!);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}
