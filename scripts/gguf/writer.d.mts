/** Types of writer.mjs (GGUF v3 writer). */
export type GgufValueTypeName = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "bool" | "string" | "u64" | "i64" | "f64";
export type GgmlTypeName = "F32" | "F16" | "Q4_0" | "Q4_1" | "Q5_0" | "Q5_1" | "Q8_0" | "Q8_1" | "Q2_K" | "Q3_K" | "Q4_K" | "Q5_K" | "Q6_K" | "Q8_K" | "BF16";
export type TensorSource = Uint8Array | (() => Uint8Array | Iterable<Uint8Array>);
export declare const GGUF_VALUE_TYPE: Readonly<Record<GgufValueTypeName | "array", number>>;
export declare const GGML_TYPES: Readonly<Record<GgmlTypeName, { id: number; blockLen: number; blockBytes: number }>>;
export declare const VALUE_TYPE_NAME: Record<number, string>;
export declare function tensorByteSize(dims: number[], typeName: GgmlTypeName | string): number;
export declare class GgufWriter {
  constructor(options?: { alignment?: number });
  readonly alignment: number;
  /** `type`: a scalar name, "string", or "array<T>" (nested allowed); inferred when omitted. */
  addMetadata(key: string, value: unknown, type?: string): this;
  addTensor(name: string, dims: number[], typeName: GgmlTypeName | string, source: TensorSource): this;
  headerBytes(): Uint8Array;
  byteLength(): number;
  toBytes(): Uint8Array;
  write(path: string): Promise<number>;
}
