/**
 * Safetensors reader over a chunk stream: parses the JSON header, then hands out each tensor's bytes in file order,
 * holding at most one tensor in memory at a time.
 */
import { ModelFormatError } from "./errors.js";

export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Refuse headers beyond this (the format caps them at 100 MB; real ones are kilobytes). */
const MAX_HEADER = 100 << 20;

/** Pulls exact byte counts out of an async chunk stream. */
class ExactReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #pending: Uint8Array = new Uint8Array(0);
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async read(n: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.#pending.length === 0) {
        const next = await this.#it.next();
        if (next.done) throw new ModelFormatError(`safetensors: file ends at byte ${this.position + filled} while reading ${what}`);
        this.#pending = next.value;
      }
      const take = Math.min(n - filled, this.#pending.length);
      out.set(this.#pending.subarray(0, take), filled);
      this.#pending = this.#pending.subarray(take);
      filled += take;
    }
    this.position += n;
    return out;
  }

  async skip(n: number, what: string): Promise<void> {
    if (n > 0) await this.read(n, what);
  }
}

export class SafetensorsReader {
  readonly entries: SafetensorsEntry[];
  readonly metadata: Record<string, string>;
  readonly #reader: ExactReader;
  readonly #dataStart: number;

  private constructor(reader: ExactReader, entries: SafetensorsEntry[], metadata: Record<string, string>, dataStart: number) {
    this.#reader = reader;
    this.entries = entries;
    this.metadata = metadata;
    this.#dataStart = dataStart;
  }

  static async open(source: AsyncIterable<Uint8Array>): Promise<SafetensorsReader> {
    const reader = new ExactReader(source);
    const lenBytes = await reader.read(8, "the header length");
    const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
    if (headerLen < 2 || headerLen > MAX_HEADER) throw new ModelFormatError(`safetensors: implausible header length ${headerLen}`);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(await reader.read(headerLen, "the JSON header"))) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof ModelFormatError) throw e;
      throw new ModelFormatError(`safetensors: header is not valid JSON (${(e as Error).message})`, { cause: e });
    }
    const metadata = (header["__metadata__"] ?? {}) as Record<string, string>;
    const entries: SafetensorsEntry[] = [];
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const offsets = info.data_offsets;
      if (
        typeof info.dtype !== "string" ||
        !Array.isArray(info.shape) ||
        !info.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) ||
        offsets[1] < offsets[0]
      ) {
        throw new ModelFormatError(`safetensors: tensor ${name} has a malformed header entry`);
      }
      entries.push({ name, dtype: info.dtype, shape: info.shape as number[], begin: offsets[0] as number, end: offsets[1] as number });
    }
    entries.sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.begin < entries[i - 1]!.end) {
        throw new ModelFormatError(`safetensors: tensors ${entries[i - 1]!.name} and ${entries[i]!.name} overlap`);
      }
    }
    return new SafetensorsReader(reader, entries, metadata, 8 + headerLen);
  }

  /** Reads the next tensor's bytes; tensors must be read in `entries` order (file order). */
  async readTensor(entry: SafetensorsEntry): Promise<Uint8Array> {
    const at = this.#reader.position - this.#dataStart;
    if (entry.begin < at) throw new ModelFormatError(`safetensors: tensor ${entry.name} requested out of file order`);
    await this.#reader.skip(entry.begin - at, `the gap before ${entry.name}`);
    return this.#reader.read(entry.end - entry.begin, `tensor ${entry.name}`);
  }
}
