/**
 * WASM memory a model may take in a 128 MiB isolate: 10 MiB stay for the JS heap (code, tokenizer, requests), the
 * GGUF header and allocator slack. Under it the KV cache is f16 when weights + f16 KV + scratch fit, else q8_0
 * (SmolLM2-135M Q4_1 at 2048 positions: 145 MB in f16, 123 MB in q8_0); a model over it either way is refused (503).
 */
export const EDGE_MODEL_MEMORY = 118 * 2 ** 20;
