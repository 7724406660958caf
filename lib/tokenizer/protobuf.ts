/**
 * Just enough protobuf wire-format reading for SentencePiece `.model` files. Every read is bounds-checked and a
 * malformed file raises ModelFormatError naming the byte offset.
 */
import { ModelFormatError } from "../errors.js";

export interface ProtoField {
  field: number;
  wire: number;
  /** varint value (wire 0), or undefined */
  varint?: number;
  /** raw bytes for wire 1/2/5 */
  bytes?: Uint8Array;
  offset: number;
}

export function readFields(buf: Uint8Array, what: string): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    const start = pos;
    for (;;) {
      if (pos >= buf.length) throw new ModelFormatError(`${what}: truncated varint at byte ${start}`);
      const b = buf[pos++]!;
      if (shift < 53) result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
      if (shift > 70) throw new ModelFormatError(`${what}: varint longer than 10 bytes at byte ${start}`);
    }
  };
  const take = (n: number, offset: number): Uint8Array => {
    if (n < 0 || pos + n > buf.length) throw new ModelFormatError(`${what}: field at byte ${offset} runs past the end (${n} bytes)`);
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const offset = pos;
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (wire) {
      case 0:
        fields.push({ field, wire, varint: varint(), offset });
        break;
      case 1:
        fields.push({ field, wire, bytes: take(8, offset), offset });
        break;
      case 2:
        fields.push({ field, wire, bytes: take(varint(), offset), offset });
        break;
      case 5:
        fields.push({ field, wire, bytes: take(4, offset), offset });
        break;
      default:
        throw new ModelFormatError(`${what}: unsupported protobuf wire type ${wire} at byte ${offset}`);
    }
  }
  return fields;
}

export function float32Of(f: ProtoField, what: string): number {
  if (f.wire !== 5 || f.bytes === undefined) throw new ModelFormatError(`${what}: field ${f.field} at byte ${f.offset} is not a float`);
  return new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
}

export function stringOf(f: ProtoField, what: string): string {
  if (f.wire !== 2 || f.bytes === undefined) throw new ModelFormatError(`${what}: field ${f.field} at byte ${f.offset} is not a string`);
  return new TextDecoder("utf-8", { fatal: false }).decode(f.bytes);
}

export function varintOf(f: ProtoField, what: string): number {
  if (f.wire !== 0 || f.varint === undefined) throw new ModelFormatError(`${what}: field ${f.field} at byte ${f.offset} is not a varint`);
  return f.varint;
}
