export interface GgufMetadataEntry {
  key: string;
  /** The value's GGUF type as lib/gguf/writer.ts spells it: "u32", "string", "array<f32>", … */
  type: string;
  value: unknown;
}
export interface GgufTensorLayout {
  name: string;
  dims: number[];
  typeId: number;
  offset: number;
}
export interface GgufLayout {
  version: number;
  alignment: number;
  dataOffset: number;
  metadata: GgufMetadataEntry[];
  tensors: GgufTensorLayout[];
}
export declare function readGgufLayout(path: string): GgufLayout;
