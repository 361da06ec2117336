//! A trained MIO network task by task: on 70 crops of 96 px of each of three embedded
//! photos (ten per MIO task on average, the task and its settings drawn per crop as in
//! training), the mean PSNR of doing nothing and of the network. `astronaut.png` is
//! held out from training; `coffee.png` and `chelsea.png` are trained on.
//! `data/models/README.md` (the MIO cards) quotes it. With an output folder, also writes
//! the first astronaut crops as ground truth | input | output strips.
//!
//! ```sh
//! cargo run --example mio_probe -- RUN_DIR [OUT_DIR]   # RUN_DIR: a `cem train --task mio` folder
//! ```

use cem::prelude::*;
use cem::train::{mio, TrainReport, STATE_NAME, WEIGHTS_NAME};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() -> cem::Result<()> {
    let mut args = std::env::args().skip(1);
    let run = PathBuf::from(args.next().expect("usage: mio_probe RUN_DIR [OUT_DIR]"));
    let out_dir = args.next().map(PathBuf::from);
    let state = run.join(STATE_NAME);
    let text = std::fs::read_to_string(&state).map_err(|e| cem::Error::io(&state, e))?;
    let report: TrainReport = serde_json::from_str(&text).map_err(|e| cem::Error::ResultFile {
        path: state.clone(),
        reason: e.to_string(),
    })?;
    let net = Network::load(
        report.config.net.clone(),
        run.join(WEIGHTS_NAME),
        Device::Cpu,
    )?;
    println!("photo: task doing nothing -> network (dB, mean over its crops)");
    for photo in ["astronaut.png", "coffee.png", "chelsea.png"] {
        let img = cem::library::builtin_photo(photo)?;
        let mut per: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
        for seed in 0..70u64 {
            let x0 = ((seed * 37 % 4) as u32 * 64).min(img.width() - 96);
            let y0 = ((seed * 53 % 4) as u32 * 64).min(img.height() - 96);
            let hr = image::imageops::crop_imm(&img, x0, y0, 96, 96).to_image();
            let task = mio::sample_task(4, seed);
            let input = mio::degrade(&hr, 4, seed)?;
            let output =
                tensor_to_rgb(&forward_checked(&net, &to_tensor(&input, Device::Cpu), 1)?)?;
            if let (Some(dir), true) = (&out_dir, photo == "astronaut.png" && seed < 14) {
                std::fs::create_dir_all(dir).map_err(|e| cem::Error::io(dir, e))?;
                let mut strip = RgbImage::new(288, 96);
                for (i, part) in [&hr, &input, &output].into_iter().enumerate() {
                    image::imageops::replace(&mut strip, part, 96 * i as i64, 0);
                }
                let path = dir.join(format!("{seed}-{}.png", task.name()));
                strip
                    .save(&path)
                    .map_err(|e| cem::Error::invalid("strip", path.display(), e.to_string()))?;
            }
            let e = per.entry(task.name()).or_default();
            e.0 += cem::image::psnr(&input, &hr)?.min(60.0);
            e.1 += cem::image::psnr(&output, &hr)?.min(60.0);
            e.2 += 1;
        }
        let line: Vec<String> = per
            .iter()
            .map(|(k, (a, b, n))| format!("{k} {:.1} -> {:.1}", a / *n as f64, b / *n as f64))
            .collect();
        println!("{photo}: {}", line.join(" | "));
    }
    Ok(())
}
