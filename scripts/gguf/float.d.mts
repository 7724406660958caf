export declare function f32ToF16Bits(x: number): number;
export declare function encodeTensor(typeName: string, values: Float32Array): Uint8Array;
