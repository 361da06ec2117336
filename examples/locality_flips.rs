//! How often a crop's u8 ROI output differs from the whole image's on the shipped
//! models (float rounding flips), and what the locality check now decides.
//!
//! `cargo run --example locality_flips -- IMAGE [SEEDS] [BLOCK]` prints, per model and
//! seed, each tried margin with its largest float difference (u8 levels) and its u8
//! flips, the chosen margin, and for the first seeds the cells whose kind differs
//! between the cropped map and the whole-image map (C1F1).

use cem::engine::Locality;
use cem::prelude::*;

fn main() -> cem::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let image = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "../shared/data/test-images/demo_2.png".into());
    let seeds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(8);
    let block: u32 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(32);
    let hr = load_rgb(&image)?;
    let roi = Roi::new(96, 152, 32);
    for (name, task) in [
        ("dncnn-s-dn50", Task::Dn { sigma: 50.0 }),
        ("srresnet-s-x4", Task::Sr { scale: 4 }),
    ] {
        let model = cem::zoo::shipped(name, Device::Cpu)?;
        let (mut flips, mut values, mut global) = (0usize, 0usize, 0);
        for seed in 0..seeds {
            let cem = Cem::new(cem::engine::Strategy::parse("c1f1")?.0)
                .block(block)
                .seed(seed)
                .progress(false);
            let map = cem.run(&model, &hr, &task, roi)?;
            let loc: Locality = map.info.locality.clone().ok_or_else(|| {
                cem::Error::invalid("locality", "off", "the check did not run for this map")
            })?;
            let trials: Vec<String> = loc
                .trials
                .iter()
                .map(|t| {
                    flips += t.u8_flips;
                    values += 3 * (roi.size * roi.size) as usize * (1 + loc.checks);
                    format!(
                        "k={} {} diff={:.2e} flips={}",
                        t.cells,
                        if t.passed { "pass" } else { "FAIL" },
                        t.max_diff_levels,
                        t.u8_flips
                    )
                })
                .collect();
            if !loc.local {
                global += 1;
            }
            let mut changed = String::new();
            if seed < 3 {
                let whole = cem.clone().locality(false).run(&model, &hr, &task, roi)?;
                let kinds = map
                    .cells
                    .iter()
                    .zip(&whole.cells)
                    .filter(|(a, b)| a.kind != b.kind)
                    .count();
                let effects = map
                    .cells
                    .iter()
                    .zip(&whole.cells)
                    .filter(|(a, b)| a.effect_db != b.effect_db)
                    .count();
                changed = format!(
                    "; vs whole-image map: {kinds} of {} cells change kind, {effects} change effect",
                    map.cells.len()
                );
            }
            println!(
                "{name} seed {seed}: local={} margin={:?} tol={:.3} noise={:.2e} [{}]{changed}",
                loc.local,
                loc.margin_cells,
                loc.tolerance_levels,
                loc.noise_levels,
                trials.join("; ")
            );
        }
        println!(
            "{name}: {global} of {seeds} seeds global; {flips} u8 flips in ~{values} compared ROI values"
        );
    }
    Ok(())
}
