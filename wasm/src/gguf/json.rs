//! Header → JSON for the JavaScript side (tokenizer, chat template, catalog). Hand-written: the crate has
//! no serde, and the output shape is fixed and small.

use std::fmt::Write;

use super::header::GgufHeader;
use super::metadata::{MetaArray, MetaValue};

impl GgufHeader {
    /// `{"version","alignment","dataOffset","metadata":{key: value, ...} (file order),"tensors":[...]}`.
    /// Non-finite floats become `null`; 64-bit integers are written as plain numbers.
    pub fn to_json(&self, include_tensors: bool) -> String {
        let mut out = String::with_capacity(256);
        let _ = write!(
            out,
            "{{\"version\":{},\"alignment\":{},\"dataOffset\":{},\"metadata\":{{",
            self.version, self.alignment, self.data_offset
        );
        for (i, (key, value)) in self.metadata().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, key);
            out.push(':');
            push_value(&mut out, value);
        }
        out.push('}');
        if include_tensors {
            out.push_str(",\"tensors\":[");
            for (i, t) in self.tensors().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"name\":");
                push_json_string(&mut out, &t.name);
                let _ = write!(out, ",\"type\":\"{}\",\"dims\":[", t.dtype.name());
                push_joined(&mut out, &t.dims, |o, d| {
                    let _ = write!(o, "{d}");
                });
                let _ = write!(out, "],\"offset\":{},\"bytes\":{}}}", t.offset, t.n_bytes);
            }
            out.push(']');
        }
        out.push('}');
        out
    }
}

fn push_joined<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, x);
    }
}

fn push_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

/// f32 printed with its own shortest round-trip digits (not widened to f64 first, which would print
/// 1e-5f32 as 0.000009999999747378752).
fn push_f32(out: &mut String, v: f32) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

fn push_value(out: &mut String, v: &MetaValue) {
    match v {
        MetaValue::U8(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::I8(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::U16(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::I16(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::U32(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::I32(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::U64(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::I64(x) => {
            let _ = write!(out, "{x}");
        }
        MetaValue::F32(x) => push_f32(out, *x),
        MetaValue::F64(x) => push_f64(out, *x),
        MetaValue::Bool(x) => out.push_str(if *x { "true" } else { "false" }),
        MetaValue::Str(s) => push_json_string(out, s),
        MetaValue::Array(a) => push_array(out, a),
    }
}

fn push_array(out: &mut String, a: &MetaArray) {
    fn nums<T: std::fmt::Display>(out: &mut String, v: &[T]) {
        push_joined(out, v, |o, x| {
            let _ = write!(o, "{x}");
        });
    }
    out.push('[');
    match a {
        MetaArray::U8(v) => nums(out, v),
        MetaArray::I8(v) => nums(out, v),
        MetaArray::U16(v) => nums(out, v),
        MetaArray::I16(v) => nums(out, v),
        MetaArray::U32(v) => nums(out, v),
        MetaArray::I32(v) => nums(out, v),
        MetaArray::U64(v) => nums(out, v),
        MetaArray::I64(v) => nums(out, v),
        MetaArray::F32(v) => push_joined(out, v, |o, x| push_f32(o, *x)),
        MetaArray::F64(v) => push_joined(out, v, |o, x| push_f64(o, *x)),
        MetaArray::Bool(v) => push_joined(out, v, |o, x| o.push_str(if *x { "true" } else { "false" })),
        MetaArray::Str(v) => {
            for (i, s) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, s);
            }
        }
        MetaArray::Array(v) => push_joined(out, v, push_array),
    }
    out.push(']');
}

/// JSON string literal: quotes, backslash and all control characters escaped; other text as UTF-8.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}
