//! The paper's colours: matplotlib's "seismic" diverging map with the reference's
//! `|v|^(1/1.2)` stretch and task bounds, and the fixed colours of the cell kinds.

use image::Rgb;

/// ROI cells: pure green.
pub const ROI_GREEN: Rgb<u8> = Rgb([0, 255, 0]);
/// The outline drawn around the ROI.
pub const ROI_OUTLINE: Rgb<u8> = Rgb([0, 110, 0]);
/// Pie slice of positive cells.
pub const POSITIVE_RED: Rgb<u8> = Rgb([214, 39, 40]);
/// Pie slice of negative cells.
pub const NEGATIVE_BLUE: Rgb<u8> = Rgb([31, 119, 180]);
/// Pie slice of cells without effect.
pub const NONE_GREY: Rgb<u8> = Rgb([190, 190, 190]);

/// The exponent of the reference's stretch: `sign(v) |v|^(1/1.2)`.
pub const STRETCH: f64 = 1.0 / 1.2;

/// The colour bound of a task in dB, as the reference clips (SR 2.5, DN 1, DR 2);
/// 2.5 for other tasks.
pub fn task_bound(task: &str) -> f64 {
    match task {
        "dn" => 1.0,
        "dr" => 2.0,
        _ => 2.5,
    }
}

/// matplotlib's "seismic" colour stops at 0, 1/4, 1/2, 3/4, 1: dark blue, blue, white,
/// red, dark red.
pub(crate) const SEISMIC_STOPS: [[f64; 3]; 5] = [
    [0.0, 0.0, 0.3],
    [0.0, 0.0, 1.0],
    [1.0, 1.0, 1.0],
    [1.0, 0.0, 0.0],
    [0.5, 0.0, 0.0],
];

/// matplotlib's "seismic" at `t` in `[0, 1]`: dark blue, blue, white (0.5), red, dark red.
pub fn seismic(t: f64) -> Rgb<u8> {
    const STOPS: [[f64; 3]; 5] = SEISMIC_STOPS;
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    let x = t * 4.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f64;
    let c = |k: usize| {
        let v = STOPS[i][k] + (STOPS[i + 1][k] - STOPS[i][k]) * f;
        (v * 255.0).round() as u8
    };
    Rgb([c(0), c(1), c(2)])
}

/// Where an effect of `v` dB falls on the colour map, in `[-1, 1]`:
/// `sign(v) |v|^(1/1.2) / bound^(1/1.2)`, clipped.
pub fn stretch(v: f64, bound: f64) -> f64 {
    let s = v.signum() * v.abs().powf(STRETCH) / bound.powf(STRETCH);
    if v == 0.0 {
        0.0
    } else {
        s.clamp(-1.0, 1.0)
    }
}

/// The colour of an effect of `v` dB under `bound`.
pub fn effect_color(v: f64, bound: f64) -> Rgb<u8> {
    seismic((stretch(v, bound) + 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seismic_ends_and_centre() {
        assert_eq!(seismic(0.0), Rgb([0, 0, 77]));
        assert_eq!(seismic(0.25), Rgb([0, 0, 255]));
        assert_eq!(seismic(0.5), Rgb([255, 255, 255]));
        assert_eq!(seismic(0.75), Rgb([255, 0, 0]));
        assert_eq!(seismic(1.0), Rgb([128, 0, 0]));
    }

    #[test]
    fn stretch_follows_the_reference() {
        assert_eq!(stretch(0.0, 2.5), 0.0);
        assert_eq!(stretch(2.5, 2.5), 1.0);
        assert_eq!(stretch(-9.0, 2.5), -1.0);
        let v: f64 = 0.5;
        assert!((stretch(v, 1.0) - v.powf(1.0 / 1.2)).abs() < 1e-12);
        assert!(stretch(0.1, 1.0) > 0.1, "the stretch lifts small effects");
        let c = effect_color(0.3, 1.0);
        assert!(c[0] == 255 && c[2] < c[0], "positive is red: {c:?}");
        let c = effect_color(-0.3, 1.0);
        assert!(c[2] == 255 && c[0] < c[2], "negative is blue: {c:?}");
    }
}
