export declare function f32ToF16Bits(x: number): number;
export declare function encodeFloat(typeName: "F32" | "F16", values: Float32Array): Uint8Array;
export declare function encodeTensor(typeName: string, values: Float32Array): Promise<Uint8Array>;
