//! A GGUF header as a plain JavaScript object, built directly (no JSON in between):
//! `{version, alignment, dataOffset, metadata: {key: value} (file order), types: {key: "u32" | "array<f32>" | …},
//! tensors?: [{name, type, dims, offset, bytes}]}`; `types` spells each value's GGUF type as lib/gguf/writer.ts does, so
//! a file can be rewritten with its exact types (llama.cpp checks them).
//! Numeric arrays become typed arrays (`tokenizer.ggml.scores` a Float32Array, `token_type` an Int32Array; 64-bit
//! integers as Float64Array), string arrays (tokens, merges) arrays of strings; 64-bit scalars become numbers, f32
//! scalars the shortest decimal that reads back as the same f32. Without `vocabulary` the tokens and merges string
//! arrays are left out (the loader hands them over compactly: bindings/vocabulary.rs).

use js_sys::{Array, Float32Array, Float64Array, Int16Array, Int32Array, Int8Array, Object, Reflect, Uint16Array, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::bindings::report::f32_value;
use crate::bindings::vocabulary::is_compact;
use crate::gguf::{type_id, GgufHeader, MetaArray, MetaValue};

pub(crate) fn header_to_js(h: &GgufHeader, include_tensors: bool, vocabulary: bool) -> JsValue {
    let out = Object::new();
    set(&out, "version", h.version.into());
    set(&out, "alignment", (h.alignment as f64).into());
    set(&out, "dataOffset", (h.data_offset as f64).into());
    let (metadata, types) = (Object::new(), Object::new());
    for (key, value) in h.metadata() {
        if !vocabulary && is_compact(h, key) {
            continue;
        }
        set(&metadata, key, meta_value(value));
        set(&types, key, value_type(value).into());
    }
    set(&out, "metadata", metadata.into());
    set(&out, "types", types.into());
    if include_tensors {
        let tensors = Array::new();
        for t in h.tensors() {
            let o = Object::new();
            set(&o, "name", t.name.as_str().into());
            set(&o, "type", t.dtype.name().into());
            set(&o, "dims", t.dims.iter().map(|&d| JsValue::from(d as f64)).collect::<Array>().into());
            set(&o, "offset", (t.offset as f64).into());
            set(&o, "bytes", (t.n_bytes as f64).into());
            tensors.push(&o);
        }
        set(&out, "tensors", tensors.into());
    }
    out.into()
}

fn set(o: &Object, key: &str, value: JsValue) {
    // Defining a property on a fresh plain object cannot fail.
    let _ = Reflect::set(o, &JsValue::from_str(key), &value);
}

fn meta_value(v: &MetaValue) -> JsValue {
    match v {
        MetaValue::U8(x) => (*x).into(),
        MetaValue::I8(x) => (*x).into(),
        MetaValue::U16(x) => (*x).into(),
        MetaValue::I16(x) => (*x).into(),
        MetaValue::U32(x) => (*x).into(),
        MetaValue::I32(x) => (*x).into(),
        MetaValue::U64(x) => (*x as f64).into(),
        MetaValue::I64(x) => (*x as f64).into(),
        MetaValue::F32(x) => f32_value(*x).into(),
        MetaValue::F64(x) => (*x).into(),
        MetaValue::Bool(x) => (*x).into(),
        MetaValue::Str(s) => s.as_str().into(),
        MetaValue::Array(a) => meta_array(a),
    }
}

fn meta_array(a: &MetaArray) -> JsValue {
    let wide = |v: Vec<f64>| Float64Array::from(&v[..]).into();
    match a {
        MetaArray::U8(v) => Uint8Array::from(&v[..]).into(),
        MetaArray::I8(v) => Int8Array::from(&v[..]).into(),
        MetaArray::U16(v) => Uint16Array::from(&v[..]).into(),
        MetaArray::I16(v) => Int16Array::from(&v[..]).into(),
        MetaArray::U32(v) => Uint32Array::from(&v[..]).into(),
        MetaArray::I32(v) => Int32Array::from(&v[..]).into(),
        MetaArray::F32(v) => Float32Array::from(&v[..]).into(),
        MetaArray::F64(v) => Float64Array::from(&v[..]).into(),
        MetaArray::U64(v) => wide(v.iter().map(|&x| x as f64).collect()),
        MetaArray::I64(v) => wide(v.iter().map(|&x| x as f64).collect()),
        MetaArray::Bool(v) => v.iter().map(|&b| JsValue::from(b)).collect::<Array>().into(),
        MetaArray::Str(v) => v.iter().map(JsValue::from_str).collect::<Array>().into(),
        MetaArray::Array(v) => v.iter().map(meta_array).collect::<Array>().into(),
    }
}

/// The writer's name of a GGUF value type: "u32", "string", "array<f32>", "array<array<u16>>".
fn value_type(v: &MetaValue) -> String {
    match v {
        MetaValue::Array(a) => array_type(a),
        other => scalar_name(other.type_id()).to_string(),
    }
}

fn array_type(a: &MetaArray) -> String {
    let elem = match a {
        MetaArray::Array(inner) => inner.first().map_or_else(|| "array<u8>".to_string(), array_type),
        other => scalar_name(other.elem_type_id()).to_string(),
    };
    format!("array<{elem}>")
}

fn scalar_name(id: u32) -> &'static str {
    match id {
        type_id::U8 => "u8",
        type_id::I8 => "i8",
        type_id::U16 => "u16",
        type_id::I16 => "i16",
        type_id::U32 => "u32",
        type_id::I32 => "i32",
        type_id::F32 => "f32",
        type_id::BOOL => "bool",
        type_id::STRING => "string",
        type_id::U64 => "u64",
        type_id::I64 => "i64",
        _ => "f64",
    }
}
