//! Host tests of the GGUF layer: real files from /work/shared (skipped with a note when absent), the streaming
//! protocol against whole-buffer loading, and malformed files built here, each with its expected error kind.

use super::scan::{HeaderScan, Scanned};
use super::*;
use crate::tensor::DType;

/// The shared models folder: `../shared/models` next to the repository (as the project uses it), or /work/shared.
const SHARED_DIRS: [&str; 2] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/models/"),
    "/work/shared/models/",
];

fn shared(name: &str) -> Option<Vec<u8>> {
    if let Some(b) = SHARED_DIRS
        .iter()
        .find_map(|d| std::fs::read(format!("{d}{name}")).ok())
    {
        return Some(b);
    }
    eprintln!("note: shared model file {name} not found, test skipped");
    None
}

// ---------------------------------------------------------------- a tiny GGUF writer for malformed inputs

fn gguf_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s);
}

/// Builds GGUF bytes field by field so tests can corrupt any of them.
struct Builder {
    version: u32,
    kv: Vec<u8>,
    n_kv: u64,
    infos: Vec<u8>,
    n_tensors: u64,
    data: Vec<u8>,
    alignment: usize,
}

impl Builder {
    fn new() -> Self {
        Builder {
            version: 3,
            kv: vec![],
            n_kv: 0,
            infos: vec![],
            n_tensors: 0,
            data: vec![],
            alignment: 32,
        }
    }

    /// Raw kv: key, type id, already-encoded value bytes.
    fn kv_raw(mut self, key: &[u8], t: u32, value: &[u8]) -> Self {
        gguf_str(&mut self.kv, key);
        self.kv.extend_from_slice(&t.to_le_bytes());
        self.kv.extend_from_slice(value);
        self.n_kv += 1;
        self
    }

    fn kv_u32(self, key: &str, v: u32) -> Self {
        self.kv_raw(key.as_bytes(), type_id::U32, &v.to_le_bytes())
    }

    fn kv_str(self, key: &str, v: &str) -> Self {
        let mut b = vec![];
        gguf_str(&mut b, v.as_bytes());
        self.kv_raw(key.as_bytes(), type_id::STRING, &b)
    }

    /// Raw tensor info with explicit dims, type and offset (no data written).
    fn info_raw(mut self, name: &str, dims: &[u64], t: u32, offset: u64) -> Self {
        gguf_str(&mut self.infos, name.as_bytes());
        self.infos.extend_from_slice(&(dims.len() as u32).to_le_bytes());
        for d in dims {
            self.infos.extend_from_slice(&d.to_le_bytes());
        }
        self.infos.extend_from_slice(&t.to_le_bytes());
        self.infos.extend_from_slice(&offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }

    /// An F32 tensor with data `vals`, placed after the previous data (aligned).
    fn tensor_f32(mut self, name: &str, dims: &[u64], vals: &[f32]) -> Self {
        while !self.data.len().is_multiple_of(self.alignment) {
            self.data.push(0);
        }
        let off = self.data.len() as u64;
        for v in vals {
            self.data.extend_from_slice(&v.to_le_bytes());
        }
        self.info_raw(name, dims, 0, off)
    }

    fn header_bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.n_tensors.to_le_bytes());
        out.extend_from_slice(&self.n_kv.to_le_bytes());
        out.extend_from_slice(&self.kv);
        out.extend_from_slice(&self.infos);
        out
    }

    fn build(&self) -> Vec<u8> {
        let mut out = self.header_bytes();
        while !out.len().is_multiple_of(self.alignment) {
            out.push(0);
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// A small valid file exercising every metadata type and two tensors.
fn small_file() -> Vec<u8> {
    let mut arr_str = vec![];
    arr_str.extend_from_slice(&type_id::STRING.to_le_bytes());
    arr_str.extend_from_slice(&3u64.to_le_bytes());
    for s in ["a", "▁b", "<0x0A>"] {
        gguf_str(&mut arr_str, s.as_bytes());
    }
    let mut arr_f32 = vec![];
    arr_f32.extend_from_slice(&type_id::F32.to_le_bytes());
    arr_f32.extend_from_slice(&2u64.to_le_bytes());
    arr_f32.extend_from_slice(&1.5f32.to_le_bytes());
    arr_f32.extend_from_slice(&f32::NAN.to_le_bytes());
    let mut nested = vec![];
    nested.extend_from_slice(&type_id::ARRAY.to_le_bytes());
    nested.extend_from_slice(&2u64.to_le_bytes());
    for k in 0..2u8 {
        nested.extend_from_slice(&type_id::U8.to_le_bytes());
        nested.extend_from_slice(&2u64.to_le_bytes());
        nested.extend_from_slice(&[k, k + 10]);
    }
    Builder::new()
        .kv_str("general.architecture", "llama")
        .kv_raw(b"k.u8", type_id::U8, &[200])
        .kv_raw(b"k.i8", type_id::I8, &[0xff])
        .kv_raw(b"k.u16", type_id::U16, &60000u16.to_le_bytes())
        .kv_raw(b"k.i16", type_id::I16, &(-300i16).to_le_bytes())
        .kv_u32("k.u32", 4_000_000_000)
        .kv_raw(b"k.i32", type_id::I32, &(-7i32).to_le_bytes())
        .kv_raw(b"k.f32", type_id::F32, &1e-5f32.to_le_bytes())
        .kv_raw(b"k.bool", type_id::BOOL, &[1])
        .kv_raw(b"k.u64", type_id::U64, &(1u64 << 40).to_le_bytes())
        .kv_raw(b"k.i64", type_id::I64, &(-5i64).to_le_bytes())
        .kv_raw(b"k.f64", type_id::F64, &f64::INFINITY.to_le_bytes())
        .kv_raw(b"k.strs", type_id::ARRAY, &arr_str)
        .kv_raw(b"k.f32s", type_id::ARRAY, &arr_f32)
        .kv_raw(b"k.nested", type_id::ARRAY, &nested)
        .kv_str("k.esc", "q\"b\\n\n\u{1}é")
        .tensor_f32("w", &[4, 2], &[1., 2., 3., 4., 5., 6., 7., 8.])
        .tensor_f32("v", &[3], &[-1., -2., -3.])
        .build()
}

fn kind(r: Result<impl Sized, GgufError>) -> GgufErrorKind {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            // Every error must render with its field and offset.
            let s = e.to_string();
            assert!(
                s.starts_with("GGUF: ") && s.contains(&e.field) && s.contains(" at offset "),
                "{s}"
            );
            e.kind
        }
    }
}

fn stream_load(bytes: &[u8], chunk: impl Fn(usize) -> usize) -> Result<LoadedGguf, GgufError> {
    let mut l = StreamLoader::new(LoadLimits::default());
    let mut pos = 0;
    let mut i = 0;
    while pos < bytes.len() {
        let want = chunk(i).min(bytes.len() - pos);
        i += 1;
        let region = l.next_region(want)?;
        let n = region.len();
        assert!(n > 0 && n <= want);
        region.copy_from_slice(&bytes[pos..pos + n]);
        l.commit(n)?;
        pos += n;
    }
    assert_eq!(l.bytes_received(), bytes.len() as u64);
    l.finish()
}

/// The loader's length scan agrees with the parser on the prefixes of `bytes` (every `step`-th, and the whole):
/// it completes exactly where a parse succeeds, at the header's end; it refuses only what the parser refuses; it
/// asks for more whenever the parser is short of bytes; and a scan resumed chunk by chunk ends as a fresh one does.
fn assert_scan_agrees(bytes: &[u8], step: usize) {
    let mut resumed = HeaderScan::new(DEFAULT_MAX_HEADER_BYTES);
    let mut last = Scanned::NeedMore(0);
    let cuts = (0..bytes.len()).step_by(step.max(1)).chain([bytes.len()]);
    for cut in cuts {
        let prefix = &bytes[..cut];
        let fresh = HeaderScan::new(DEFAULT_MAX_HEADER_BYTES).advance(prefix);
        if matches!(last, Scanned::NeedMore(_)) {
            last = resumed.advance(prefix);
        }
        assert_eq!(last, fresh, "resumed scan at cut {cut}");
        match (parse_header(prefix), fresh) {
            (Ok(h), s) => assert_eq!(s, Scanned::Complete(h.header_end), "cut {cut}"),
            (Err(e), Scanned::Complete(_) | Scanned::Refused) => {
                assert_ne!(e.kind, GgufErrorKind::Truncated, "cut {cut}: the scan stopped, the parser wants more: {e}")
            }
            // The parser may refuse a value (bad UTF-8, a duplicate key) the scan walks past.
            (Err(_), Scanned::NeedMore(n)) => assert!(n > cut as u64, "cut {cut}: the scan needs {n}"),
        }
    }
}

#[test]
fn header_scan_agrees_with_the_parser() {
    assert_scan_agrees(&small_file(), 1);
    if let Some(bytes) = shared("stories260K.gguf") {
        let end = parse_header(&bytes).unwrap().data_offset as usize;
        assert_scan_agrees(&bytes[..end + 64], 1);
    }
    // A 49k-token vocabulary (~1.8 MB of header), in uneven steps.
    if let Some(bytes) = shared("SmolLM2-135M-Instruct.Q4_1.gguf") {
        let end = parse_header(&bytes).unwrap().data_offset as usize;
        assert_scan_agrees(&bytes[..end + 64], 65521);
    }
    // Files the parser refuses, cut anywhere.
    let mut deep = vec![];
    for _ in 0..9 {
        deep.extend_from_slice(&type_id::ARRAY.to_le_bytes());
        deep.extend_from_slice(&1u64.to_le_bytes());
    }
    let mut huge = vec![];
    huge.extend_from_slice(&type_id::STRING.to_le_bytes());
    huge.extend_from_slice(&(u64::MAX / 2).to_le_bytes());
    let mut b = Builder::new();
    b.n_tensors = 1 << 60;
    for bad in [
        Builder::new().kv_raw(b"x", 13, &[0; 8]).build(),
        Builder::new().kv_raw(b"d", type_id::ARRAY, &deep).build(),
        Builder::new().kv_raw(b"tokens", type_id::ARRAY, &huge).build(),
        Builder::new().kv_raw(b"s", type_id::STRING, &u64::MAX.to_le_bytes()).build(),
        Builder::new().info_raw("t", &[1, 1, 1, 1, 1], DType::F32 as u32, 0).build(),
        Builder::new().kv_u32("a", 1).kv_u32("a", 2).build(),
        b.build(),
        b"GGUF\x01\x00\x00\x00".repeat(4),
        b"ggjt".repeat(8),
    ] {
        assert_scan_agrees(&bad, 1);
    }
}

// ---------------------------------------------------------------- valid files

#[test]
fn small_file_metadata_and_accessors() {
    let bytes = small_file();
    let h = parse_header(&bytes).unwrap();
    assert_eq!(h.version, 3);
    assert_eq!(h.alignment, 32);
    assert_eq!(h.data_offset % 32, 0);
    assert_eq!(h.get_str("general.architecture"), Some("llama"));
    assert_eq!(h.get_u32("k.u8"), Some(200));
    assert_eq!(h.get_i64("k.i8"), Some(-1));
    assert_eq!(h.get_u32("k.i8"), None, "negative does not widen to u32");
    assert_eq!(h.get_u32("k.u16"), Some(60000));
    assert_eq!(h.get_i64("k.i16"), Some(-300));
    assert_eq!(h.get_u32("k.u32"), Some(4_000_000_000));
    assert_eq!(h.get_u64("k.u32"), Some(4_000_000_000));
    assert_eq!(h.get_i64("k.i32"), Some(-7));
    assert_eq!(h.get_f32("k.f32"), Some(1e-5));
    assert_eq!(h.get_bool("k.bool"), Some(true));
    assert_eq!(h.get_u64("k.u64"), Some(1 << 40));
    assert_eq!(h.get_u32("k.u64"), None, "2^40 does not fit u32");
    assert_eq!(h.get_i64("k.i64"), Some(-5));
    assert_eq!(h.get_f32("k.f64"), Some(f32::INFINITY));
    let strs = h.get_str_array("k.strs").unwrap();
    assert_eq!(strs.iter().collect::<Vec<_>>(), ["a", "▁b", "<0x0A>"]);
    assert_eq!(strs.get(3), None);
    let f = h.get_f32_array("k.f32s").unwrap();
    assert_eq!(f[0], 1.5);
    assert!(f[1].is_nan());
    match h.get_array("k.nested").unwrap() {
        MetaArray::Array(v) => assert_eq!(v, &vec![MetaArray::U8(vec![0, 10]), MetaArray::U8(vec![1, 11])]),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.get("missing"), None);
    assert_eq!(h.metadata()[0].0, "general.architecture", "file order kept");

    let g = load_from_bytes(&bytes).unwrap();
    let (info, data) = g.tensor("w").unwrap();
    assert_eq!(info.dims, vec![4, 2]);
    assert_eq!(info.dtype, DType::F32);
    assert_eq!(data.len(), 32);
    assert_eq!(f32::from_le_bytes(data[28..32].try_into().unwrap()), 8.0);
    let view = g.tensor_view("w").unwrap();
    assert_eq!((view.rows, view.cols), (2, 4));
    let (_, v) = g.tensor("v").unwrap();
    assert_eq!(f32::from_le_bytes(v[8..12].try_into().unwrap()), -3.0);
    assert_eq!(g.data.as_ptr() as usize % ARENA_ALIGN, 0);
    assert!(g.tensor("nope").is_none());
}

#[test]
fn integer_arrays_widen() {
    let mut a = vec![];
    a.extend_from_slice(&type_id::U32.to_le_bytes());
    a.extend_from_slice(&2u64.to_le_bytes());
    a.extend_from_slice(&5u32.to_le_bytes());
    a.extend_from_slice(&u32::MAX.to_le_bytes());
    let mut b = vec![];
    b.extend_from_slice(&type_id::I8.to_le_bytes());
    b.extend_from_slice(&2u64.to_le_bytes());
    b.extend_from_slice(&[0xfe, 3]);
    let bytes = Builder::new()
        .kv_raw(b"a", type_id::ARRAY, &a)
        .kv_raw(b"b", type_id::ARRAY, &b)
        .build();
    let h = parse_header(&bytes).unwrap();
    assert!(h.get_i32_array("a").is_none(), "u32::MAX does not fit i32");
    assert_eq!(&*h.get_i32_array("b").unwrap(), &[-2, 3]);
    assert_eq!(&*h.get_f32_array("b").unwrap(), &[-2.0, 3.0]);
    assert!(h.get_str_array("b").is_none());
}

#[test]
fn stories260k_matches_llama2c_checkpoint() {
    let (Some(gguf), Some(bin)) = (shared("stories260K.gguf"), shared("stories260K.bin")) else {
        return;
    };
    let h = parse_header(&gguf).unwrap();
    assert_eq!(h.version, 3);
    assert_eq!(h.tensors().len(), 48);
    assert_eq!(h.get_str("general.architecture"), Some("llama"));
    assert_eq!(h.get_u32("llama.embedding_length"), Some(64));
    assert_eq!(h.get_u32("llama.block_count"), Some(5));
    assert_eq!(h.get_u32("llama.attention.head_count_kv"), Some(4));
    assert_eq!(h.get_f32("llama.attention.layer_norm_rms_epsilon"), Some(1e-5));
    assert_eq!(h.get_str_array("tokenizer.ggml.tokens").unwrap().len(), 512);
    assert_eq!(h.get_str_array("tokenizer.ggml.tokens").unwrap().get(1), Some("<s>"));
    assert_eq!(h.get_f32_array("tokenizer.ggml.scores").unwrap().len(), 512);
    assert_eq!(h.get_i32_array("tokenizer.ggml.token_type").unwrap()[3], 6);
    assert_eq!(h.get_u32("tokenizer.ggml.bos_token_id"), Some(1));
    assert_eq!(h.file_size_needed(), gguf.len() as u64);

    let g = load_from_bytes(&gguf).unwrap();
    let (info, emb) = g.tensor("token_embd.weight").unwrap();
    assert_eq!((info.dims.as_slice(), info.dtype), (&[64u64, 512][..], DType::F32));
    // llama2.c: 7 i32 header, then token_embedding[512][64], rms_att[5][64], wq[5][64][64].
    assert_eq!(emb, &bin[28..28 + 512 * 64 * 4]);
    let rms_att = 28 + 512 * 64 * 4;
    assert_eq!(
        g.tensor("blk.0.attn_norm.weight").unwrap().1,
        &bin[rms_att..rms_att + 64 * 4]
    );
    assert_eq!(
        g.tensor("blk.4.attn_norm.weight").unwrap().1,
        &bin[rms_att + 4 * 256..rms_att + 5 * 256]
    );
    let wq = rms_att + 5 * 64 * 4;
    assert_eq!(g.tensor("blk.0.attn_q.weight").unwrap().1, &bin[wq..wq + 64 * 64 * 4]);
    assert_eq!(
        g.tensor("output.weight").unwrap().1,
        emb,
        "output is a copy of the embedding"
    );

    assert!(h.tensors().iter().all(|t| t.dtype == DType::F32));
}

#[test]
fn vocab_only_files() {
    if let Some(spm) = shared("ggml-vocab-llama-spm.gguf") {
        let h = parse_header(&spm).unwrap();
        assert!(h.tensors().is_empty());
        assert_eq!(h.get_str("tokenizer.ggml.model"), Some("llama"));
        assert_eq!(h.get_str_array("tokenizer.ggml.tokens").unwrap().len(), 32000);
        assert_eq!(h.get_f32_array("tokenizer.ggml.scores").unwrap().len(), 32000);
        assert_eq!(h.get_bool("tokenizer.ggml.add_bos_token"), Some(true));
        let g = load_from_bytes(&spm).unwrap();
        assert!(g.data.is_empty());
        let s = stream_load(&spm, |i| [1, 7, 4096, 65536][i % 4]).unwrap();
        assert_eq!(s.header, h);
    }
    if let Some(gpt2) = shared("ggml-vocab-gpt-2.gguf") {
        let h = parse_header(&gpt2).unwrap();
        assert_eq!(h.get_str("tokenizer.ggml.model"), Some("gpt2"));
        assert_eq!(h.get_str("tokenizer.ggml.pre"), Some("gpt-2"));
        assert_eq!(h.get_str_array("tokenizer.ggml.tokens").unwrap().len(), 50257);
        assert_eq!(h.get_str_array("tokenizer.ggml.merges").unwrap().len(), 50000);
        assert_eq!(h.get_u32("tokenizer.ggml.bos_token_id"), Some(50256));
        assert_eq!(h.get_u32("tokenizer.ggml.eos_token_id"), Some(50256));
        assert!(h.get("tokenizer.ggml.scores").is_none());
        let t = std::time::Instant::now();
        let s = stream_load(&gpt2, |_| 1).unwrap();
        eprintln!(
            "gpt-2 vocab ({} bytes) streamed in 1-byte chunks: {:?}",
            gpt2.len(),
            t.elapsed()
        );
        assert_eq!(
            s.header.get_str_array("tokenizer.ggml.merges"),
            h.get_str_array("tokenizer.ggml.merges")
        );
    }
}

// ---------------------------------------------------------------- streaming

fn assert_same_tensors(a: &LoadedGguf, b: &LoadedGguf) {
    assert_eq!(a.header.tensors(), b.header.tensors());
    for t in a.header.tensors() {
        assert_eq!(a.tensor(&t.name).unwrap().1, b.tensor(&t.name).unwrap().1, "{}", t.name);
    }
    assert_eq!(a.data.as_ptr() as usize % ARENA_ALIGN, 0);
}

#[test]
fn streaming_equals_whole_buffer() {
    let mut files = vec![("small", small_file())];
    if let Some(b) = shared("stories260K.gguf") {
        files.push(("stories260K", b));
    }
    for (name, bytes) in &files {
        let whole = load_from_bytes(bytes).unwrap();
        let mut seed = 0x9e3779b97f4a7c15u64;
        let random = move |_: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            1 + (seed % 100_000) as usize
        };
        let random = std::cell::RefCell::new(random);
        for (label, loaded) in [
            ("1 byte", stream_load(bytes, |_| 1)),
            ("7 bytes", stream_load(bytes, |_| 7)),
            ("64 KiB", stream_load(bytes, |_| 65536)),
            ("whole", stream_load(bytes, |_| usize::MAX)),
            ("random", stream_load(bytes, |i| (random.borrow_mut())(i))),
        ] {
            let loaded = loaded.unwrap_or_else(|e| panic!("{name} {label}: {e}"));
            assert_same_tensors(&whole, &loaded);
        }
    }
}

#[test]
fn stream_reports_header_and_expected_size() {
    let Some(bytes) = shared("stories260K.gguf") else {
        return;
    };
    let mut l = StreamLoader::new(LoadLimits::default());
    assert!(l.header().is_none() && l.expected_size().is_none());
    let mut pos = 0;
    while l.header().is_none() {
        let r = l.next_region(1000).unwrap();
        let n = r.len();
        r.copy_from_slice(&bytes[pos..pos + n]);
        l.commit(n).unwrap();
        pos += n;
    }
    // The header (~10 KB) is parsed without waiting for the whole file.
    assert!(pos < 200_000, "header parsed only after {pos} bytes");
    assert_eq!(l.expected_size(), Some(bytes.len() as u64));
    // Over-committing is refused; an incomplete stream does not finish.
    let _ = l.next_region(10).unwrap();
    assert_eq!(kind(l.commit(11)), GgufErrorKind::InvalidValue);
    assert_eq!(kind(l.finish()), GgufErrorKind::Truncated);
}

#[test]
fn stream_limits() {
    let bytes = small_file();
    let mut l = StreamLoader::new(LoadLimits {
        max_total_bytes: 100,
        max_header_bytes: 1000,
    });
    let mut pos = 0;
    let err = loop {
        let r = match l.next_region(16) {
            Ok(r) => r,
            Err(e) => break e,
        };
        let n = r.len().min(bytes.len() - pos);
        r[..n].copy_from_slice(&bytes[pos..pos + n]);
        pos += n;
        if let Err(e) = l.commit(n) {
            break e;
        }
        if pos == bytes.len() {
            break l.finish().expect_err("limit must be enforced");
        }
    };
    assert_eq!(err.kind, GgufErrorKind::InvalidValue, "{err}");
    assert!(err.to_string().contains("limit"), "{err}");

    // A header larger than max_header_bytes.
    let mut l = StreamLoader::new(LoadLimits {
        max_total_bytes: 1 << 30,
        max_header_bytes: 100,
    });
    let mut pos = 0;
    let err = loop {
        let r = match l.next_region(16) {
            Ok(r) => r,
            Err(e) => break e,
        };
        let n = r.len();
        r.copy_from_slice(&bytes[pos..pos + n]);
        pos += n;
        if let Err(e) = l.commit(n) {
            break e;
        }
    };
    assert_eq!(err.kind, GgufErrorKind::InvalidValue, "{err}");
}

// ---------------------------------------------------------------- malformed files

#[test]
fn truncated_at_every_offset() {
    let bytes = small_file();
    let header_len = parse_header(&bytes).unwrap().data_offset as usize;
    for cut in 0..bytes.len() {
        let prefix = &bytes[..cut];
        let hk = parse_header(prefix).map(|_| ());
        let lk = load_from_bytes(prefix).map(|_| ());
        let sk = stream_load(prefix, |i| 1 + i % 5).map(|_| ());
        if cut < header_len - 32 {
            // (the header ends somewhere in the last alignment block; up to there the header itself is cut)
            assert_eq!(kind(hk), GgufErrorKind::Truncated, "cut {cut}");
            assert_eq!(kind(lk), GgufErrorKind::Truncated, "cut {cut}");
        } else if cut >= header_len {
            assert!(hk.is_ok());
            assert_eq!(
                kind(lk),
                GgufErrorKind::InvalidValue,
                "cut {cut}: data past end of file"
            );
        }
        assert_eq!(kind(sk), GgufErrorKind::Truncated, "cut {cut}");
    }
}

#[test]
fn truncation_names_the_exact_field() {
    let b = Builder::new().info_raw("w", &[32, 4], DType::F32 as u32, 0).build();
    // magic+version+counts (24) + name (8+1) + n_dims (4) + dims[0] (8) → dims[1] starts at 45.
    let e = parse_header(&b[..47]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "GGUF: truncated while reading tensor_info[0].dims[1] at offset 45 (need 8 bytes, have 2)"
    );
    let strs = Builder::new().kv_str("a", "x").kv_str("b", "hello").header_bytes();
    let e = parse_header(&strs[..strs.len() - 2]).unwrap_err();
    assert_eq!(
        (e.kind, e.field.as_str()),
        (GgufErrorKind::Truncated, "metadata[1] 'b'")
    );
}

#[test]
fn bad_magic_and_versions() {
    let mut b = small_file();
    b[0] = b'X';
    assert_eq!(kind(parse_header(&b)), GgufErrorKind::BadMagic);
    assert_eq!(kind(parse_header(b"ggjt\x03\x00\x00\x00")), GgufErrorKind::BadMagic);
    for v in [1u32, 4, 3u32.swap_bytes(), 2u32.swap_bytes(), 0] {
        let mut b = small_file();
        b[4..8].copy_from_slice(&v.to_le_bytes());
        let e = parse_header(&b).unwrap_err();
        assert_eq!(e.kind, GgufErrorKind::UnsupportedVersion, "{v}");
        assert_eq!(e.field, "version");
    }
    let mut b = small_file();
    b[4..8].copy_from_slice(&3u32.swap_bytes().to_le_bytes());
    assert!(parse_header(&b).unwrap_err().to_string().contains("big-endian"));
    let mut b = Builder::new();
    b.version = 2;
    assert_eq!(parse_header(&b.kv_u32("x", 1).build()).unwrap().version, 2);
}

#[test]
fn bad_value_types() {
    let b = Builder::new().kv_raw(b"x", 13, &[0; 8]).build();
    let e = parse_header(&b).unwrap_err();
    assert_eq!(e.kind, GgufErrorKind::InvalidValue);
    assert_eq!(e.field, "metadata[0] 'x'.type");
    assert_eq!(e.offset, 24 + 8 + 1);

    let mut arr = vec![];
    arr.extend_from_slice(&77u32.to_le_bytes());
    arr.extend_from_slice(&0u64.to_le_bytes());
    assert_eq!(
        kind(parse_header(&Builder::new().kv_raw(b"a", type_id::ARRAY, &arr).build())),
        GgufErrorKind::InvalidValue
    );
    assert_eq!(
        kind(parse_header(&Builder::new().kv_raw(b"b", type_id::BOOL, &[2]).build())),
        GgufErrorKind::InvalidValue
    );

    let e = parse_header(&Builder::new().kv_raw(b"k\xff", type_id::U8, &[1]).build()).unwrap_err();
    assert_eq!(
        (e.kind, e.field.as_str()),
        (GgufErrorKind::InvalidValue, "metadata[0].key")
    );
    assert!(e.to_string().contains("UTF-8"));
    let mut bad = vec![];
    gguf_str(&mut bad, b"\xc3\x28");
    assert_eq!(
        kind(parse_header(
            &Builder::new().kv_raw(b"s", type_id::STRING, &bad).build()
        )),
        GgufErrorKind::InvalidValue
    );

    let dup = Builder::new().kv_u32("a", 1).kv_u32("a", 2).build();
    assert!(parse_header(&dup)
        .unwrap_err()
        .to_string()
        .contains("duplicate key 'a'"));

    // Arrays nested 9 deep.
    let mut deep = vec![];
    for _ in 0..9 {
        deep.extend_from_slice(&type_id::ARRAY.to_le_bytes());
        deep.extend_from_slice(&1u64.to_le_bytes());
    }
    deep.extend_from_slice(&type_id::U8.to_le_bytes());
    deep.extend_from_slice(&0u64.to_le_bytes());
    assert_eq!(
        kind(parse_header(
            &Builder::new().kv_raw(b"d", type_id::ARRAY, &deep).build()
        )),
        GgufErrorKind::InvalidValue
    );
}

#[test]
fn absurd_counts_never_allocate() {
    // A huge array count with a few bytes behind it.
    for (et, count) in [
        (type_id::STRING, u64::MAX / 2),
        (type_id::U8, 1u64 << 40),
        (type_id::F64, u64::MAX),
        (type_id::ARRAY, 1 << 50),
    ] {
        let mut arr = vec![];
        arr.extend_from_slice(&et.to_le_bytes());
        arr.extend_from_slice(&count.to_le_bytes());
        arr.extend_from_slice(&[0; 16]);
        let e = parse_header(&Builder::new().kv_raw(b"tokens", type_id::ARRAY, &arr).build()).unwrap_err();
        assert_eq!(e.kind, GgufErrorKind::InvalidValue, "{e}");
        assert_eq!(e.field, "metadata[0] 'tokens'.count");
    }
    // A moderately large count (plausible, but more than the bytes present) is a truncation.
    let mut arr = vec![];
    arr.extend_from_slice(&type_id::I32.to_le_bytes());
    arr.extend_from_slice(&150_000u64.to_le_bytes());
    assert_eq!(
        kind(parse_header(&Builder::new().kv_raw(b"t", type_id::ARRAY, &arr).build())),
        GgufErrorKind::Truncated
    );
    // Huge string length, huge kv and tensor counts.
    let mut s = vec![];
    s.extend_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        kind(parse_header(&Builder::new().kv_raw(b"s", type_id::STRING, &s).build())),
        GgufErrorKind::InvalidValue
    );
    let mut b = Builder::new();
    b.n_kv = u64::MAX;
    assert_eq!(kind(parse_header(&b.build())), GgufErrorKind::InvalidValue);
    let mut b = Builder::new();
    b.n_tensors = 1 << 60;
    assert_eq!(kind(parse_header(&b.build())), GgufErrorKind::InvalidValue);
}

#[test]
fn bad_tensor_infos() {
    let f32_id = DType::F32 as u32;
    let e = parse_header(&Builder::new().info_raw("blk.0.attn_q.weight", &[32, 32], 21, 0).build()).unwrap_err();
    assert_eq!(e.kind, GgufErrorKind::UnsupportedType);
    assert!(
        e.message.contains("blk.0.attn_q.weight") && e.message.contains("IQ3_S") && e.message.contains("21"),
        "{e}"
    );
    let e = parse_header(&Builder::new().info_raw("t", &[32], 999, 0).build()).unwrap_err();
    assert_eq!(e.kind, GgufErrorKind::UnsupportedType);

    let e = parse_header(&Builder::new().info_raw("t", &[1, 1, 1, 1, 1], f32_id, 0).build()).unwrap_err();
    assert_eq!(
        (e.kind, e.field.as_str()),
        (GgufErrorKind::InvalidValue, "tensor_info[0].n_dims")
    );
    // Absurd dims: element count overflow, and a dim above i64::MAX.
    assert_eq!(
        kind(parse_header(
            &Builder::new().info_raw("t", &[1 << 32, 1 << 32], f32_id, 0).build()
        )),
        GgufErrorKind::InvalidValue
    );
    assert_eq!(
        kind(parse_header(
            &Builder::new().info_raw("t", &[u64::MAX], f32_id, 0).build()
        )),
        GgufErrorKind::InvalidValue
    );
    // Byte size overflow with a plausible element count.
    assert_eq!(
        kind(parse_header(
            &Builder::new().info_raw("t", &[1 << 62], f32_id, 0).build()
        )),
        GgufErrorKind::InvalidValue
    );
    // Absurd but representable dims: data past the end of the file.
    let b = Builder::new().info_raw("t", &[1 << 20, 1 << 20], f32_id, 0).build();
    assert!(parse_header(&b).is_ok());
    let e = load_from_bytes(&b).unwrap_err();
    assert_eq!(e.kind, GgufErrorKind::InvalidValue);
    assert!(e.to_string().contains("past the end"), "{e}");
    // Row length not a whole number of blocks.
    assert_eq!(
        kind(parse_header(
            &Builder::new().info_raw("t", &[33, 2], DType::Q4_0 as u32, 0).build()
        )),
        GgufErrorKind::InvalidValue
    );
    // Misaligned offset.
    let e = parse_header(&Builder::new().info_raw("t", &[8], f32_id, 4).build()).unwrap_err();
    assert_eq!(
        (e.kind, e.field.as_str()),
        (GgufErrorKind::InvalidValue, "tensor_info[0].offset")
    );
    // Duplicate and overlapping tensors.
    let b = Builder::new()
        .info_raw("a", &[8], f32_id, 0)
        .info_raw("a", &[8], f32_id, 32)
        .build();
    assert!(parse_header(&b)
        .unwrap_err()
        .message
        .contains("duplicate tensor name 'a'"));
    let b = Builder::new()
        .info_raw("a", &[16], f32_id, 0)
        .info_raw("b", &[8], f32_id, 32)
        .build();
    assert!(parse_header(&b).unwrap_err().message.contains("overlaps"));
    // Bad alignment values.
    for bad in [0u32, 3, 48] {
        assert_eq!(
            kind(parse_header(&Builder::new().kv_u32("general.alignment", bad).build())),
            GgufErrorKind::InvalidValue
        );
    }
    assert_eq!(
        kind(parse_header(&Builder::new().kv_str("general.alignment", "32").build())),
        GgufErrorKind::InvalidValue
    );
}

#[test]
fn custom_alignment_is_honoured() {
    let mut b = Builder::new().kv_u32("general.alignment", 64);
    b.alignment = 64;
    let bytes = b
        .tensor_f32("a", &[3], &[1., 2., 3.])
        .tensor_f32("b", &[2], &[4., 5.])
        .build();
    let h = parse_header(&bytes).unwrap();
    assert_eq!((h.alignment, h.data_offset % 64), (64, 0));
    assert_eq!(h.tensor_info("b").unwrap().offset, 64);
    let g = stream_load(&bytes, |_| 3).unwrap();
    assert_eq!(
        g.tensor("b").unwrap().1,
        &[4f32.to_le_bytes(), 5f32.to_le_bytes()].concat()[..]
    );
}

#[test]
fn random_corruption_never_panics() {
    let base = small_file();
    let mut seed = 12345u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut kinds = std::collections::HashMap::new();
    for _ in 0..3_000 {
        let mut b = base.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % b.len() as u64) as usize;
            b[i] = next() as u8;
        }
        let cut = b.len() - (next() % 3 == 0) as usize * (next() % b.len() as u64) as usize;
        let b = &b[..cut];
        let r = load_from_bytes(b);
        if let Err(e) = &r {
            *kinds.entry(e.kind.name()).or_insert(0) += 1;
        }
        let _ = parse_header(b);
        assert_scan_agrees(b, 1 + (next() % 97) as usize);
        let step = 1 + (next() % 64) as usize;
        let _ = stream_load(b, |_| step);
    }
    eprintln!("corruption outcomes: {kinds:?}");
}
