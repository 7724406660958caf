//! Scale (and minimum) searches shared by the K-quant quantizers, after ggml's reference quantizers
//! (ggml-quants.c: `make_qkx2_quants`, `make_q3_quants`, `best_index_int8`). They pick per-group scales that
//! minimise the (weighted) reconstruction error rather than just mapping the range, which is what makes
//! 2- and 3-bit formats usable on real weights.

/// Groups whose largest magnitude is below this are treated as all zero (ggml's GROUP_MAX_EPS).
pub const GROUP_MAX_EPS: f32 = 1e-15;

/// Round to nearest, ties to even (ggml's `nearest_int`).
#[inline(always)]
pub fn nearest_int(x: f32) -> i32 {
    x.round_ties_even() as i32
}

/// Affine fit x ≈ scale · L − min with L in 0..=nmax: starts from the range, then tries `nstep + 1` scales
/// (nmax + rmin + rdelta · k over the range) and keeps the weighted least-squares scale / minimum with the lowest
/// weighted error (|err| when `use_mad`, else err²). Writes L and returns (scale, min), min ≥ 0.
#[allow(clippy::too_many_arguments)]
pub fn fit_scale_min(
    nmax: i32,
    x: &[f32],
    weights: &[f32],
    levels: &mut [u8],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    use_mad: bool,
) -> (f32, f32) {
    let n = x.len();
    let mut min = x.iter().copied().fold(x[0], f32::min);
    let max = x.iter().copied().fold(x[0], f32::max);
    let sum_w: f32 = weights.iter().sum();
    let sum_x: f32 = weights.iter().zip(x).map(|(w, v)| w * v).sum();
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        levels[..n].fill(0);
        return (0.0, -min);
    }
    let err = |d: f32| if use_mad { d.abs() } else { d * d };
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..n {
        let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
        levels[i] = l as u8;
        best_error += weights[i] * err(scale * l as f32 + min - x[i]);
    }
    let mut aux = [0u8; 32];
    for step in 0..=nstep {
        iscale = (rmin + rdelta * step as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            aux[i] = l as u8;
            let (w, l) = (weights[i], l as f32);
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let cur: f32 = (0..n).map(|i| weights[i] * err(this_scale * aux[i] as f32 + this_min - x[i])).sum();
            if cur < best_error {
                levels[..n].copy_from_slice(&aux[..n]);
                best_error = cur;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// Symmetric fit x ≈ scale · L with L in −nmax..nmax−1, the largest magnitude at −nmax; then up to five passes
/// of per-value moves that improve the x²-weighted least-squares fit. Writes L + nmax (0..2·nmax) and returns
/// the scale.
pub fn fit_symmetric(nmax: i32, x: &[f32], levels: &mut [i8]) -> f32 {
    let n = x.len();
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        levels[..n].fill(0);
        return 0.0;
    }
    let iscale = -(nmax as f32) / max;
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for i in 0..n {
        let l = nearest_int(iscale * x[i]).clamp(-nmax, nmax - 1);
        levels[i] = l as i8;
        let w = x[i] * x[i];
        sumlx += w * x[i] * l as f32;
        suml2 += w * (l * l) as f32;
    }
    for _ in 0..5 {
        let mut changed = 0;
        for i in 0..n {
            let w = x[i] * x[i];
            let li = levels[i] as f32;
            let mut slx = sumlx - w * x[i] * li;
            if slx > 0.0 {
                let mut sl2 = suml2 - w * li * li;
                let new_l = nearest_int(x[i] * sl2 / slx).clamp(-nmax, nmax - 1);
                if new_l != levels[i] as i32 {
                    slx += w * x[i] * new_l as f32;
                    sl2 += w * (new_l * new_l) as f32;
                    if sl2 > 0.0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        levels[i] = new_l as i8;
                        sumlx = slx;
                        suml2 = sl2;
                        changed += 1;
                    }
                }
            }
        }
        if changed == 0 {
            break;
        }
    }
    for l in levels[..n].iter_mut() {
        *l += nmax as i8;
    }
    if suml2 > 0.0 {
        sumlx / suml2
    } else {
        0.0
    }
}

/// Index of the entry of the ascending table `values` nearest to `x` (ties go up).
pub fn nearest_level(values: &[i8], x: f32) -> usize {
    let n = values.len();
    if x <= values[0] as f32 {
        return 0;
    }
    if x >= values[n - 1] as f32 {
        return n - 1;
    }
    let (mut lo, mut hi) = (0, n - 1);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if x < values[mid] as f32 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    if x - (values[hi - 1] as f32) < values[hi] as f32 - x {
        hi - 1
    } else {
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_ties_to_even() {
        assert_eq!([nearest_int(0.5), nearest_int(1.5), nearest_int(-2.5), nearest_int(2.6)], [0, 2, -2, 3]);
    }

    #[test]
    fn affine_fit_reconstructs_an_exact_grid() {
        // x = 0.25 · L − 0.5 for L = i % 4: representable exactly with nmax = 3.
        let x: Vec<f32> = (0..16).map(|i| 0.25 * (i % 4) as f32 - 0.5).collect();
        let w = vec![1.0; 16];
        let mut l = [0u8; 16];
        let (scale, min) = fit_scale_min(3, &x, &w, &mut l, -0.5, 0.1, 15, true);
        for i in 0..16 {
            assert!((scale * l[i] as f32 - min - x[i]).abs() < 1e-6, "{i}: {scale} {min} {}", l[i]);
        }
    }

    #[test]
    fn symmetric_fit_puts_the_extreme_on_the_grid() {
        let x = [0.1f32, -0.8, 0.3, 0.55, -0.2, 0.0, 0.7, -0.4];
        let mut l = [0i8; 8];
        let scale = fit_symmetric(4, &x, &mut l);
        let err: f32 = x.iter().zip(&l).map(|(v, &q)| (v - scale * (q as i32 - 4) as f32).abs()).fold(0.0, f32::max);
        assert!(err <= 0.5 * scale.abs() + 1e-6, "max error {err} vs step {scale}");
        assert!(l.iter().all(|&q| (0..8).contains(&q)));
    }

    #[test]
    fn nearest_level_picks_the_closest_table_entry() {
        let t = [-127i8, -10, 1, 13, 113];
        assert_eq!([nearest_level(&t, -200.0), nearest_level(&t, -5.0), nearest_level(&t, 7.0), nearest_level(&t, 500.0)], [0, 1, 3, 4]);
        assert_eq!(nearest_level(&t, -4.5), 2); // equidistant from −10 and 1: the upper one
    }
}
