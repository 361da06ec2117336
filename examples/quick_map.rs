//! A causal effect map in a few lines: the demo denoiser on a 128x128 crop of the
//! demo image, C3F50, saved to `out/quick_map/` (cem.csv, cem.json, input.png).
//!
//! `cargo run --release --example quick_map`

use cem::prelude::*;

fn main() -> cem::Result<()> {
    let hr = cem::image::crop(&cem::demo::demo_image()?, 64, 96, 128, 128)?;
    let model = cem::demo::demo_model(Device::Cpu);
    let task = Task::Dn { sigma: 50.0 };
    let map = Cem::coarse_to_fine()
        .seed(7)
        .image_name("astronaut-128")
        .run(&model, &hr, &task, Roi::new(48, 48, 32))?;
    println!("{}", map.table1_line());
    let out = std::path::Path::new("out/quick_map");
    cem::map::save(&map, out)?;
    save_rgb(&task.degradation(7)?.degrade(&hr)?, out.join("input.png"))?;
    for row in map.effects() {
        let line: Vec<String> = row
            .iter()
            .map(|e| {
                if e.is_infinite() {
                    "  ROI".into()
                } else {
                    format!("{e:5.2}")
                }
            })
            .collect();
        println!("{}", line.join(" "));
    }
    Ok(())
}
