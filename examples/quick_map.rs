//! A causal effect map in a few lines: the demo denoiser on a 128x128 crop of the
//! demo image, C3F50, saved as a result folder `out/quick_map/` (cem.csv, cem.json,
//! cem.npy, input.png, output.png, hr.png) and its panel `out/quick_map/panel.png`.
//!
//! `cargo run --release --example quick_map`

use cem::prelude::*;

fn main() -> cem::Result<()> {
    let hr = cem::image::crop(&cem::demo::demo_image()?, 64, 96, 128, 128)?;
    let model = cem::demo::demo_model(Device::Cpu);
    let run = Cem::coarse_to_fine()
        .seed(7)
        .image_name("astronaut-128")
        .run(&model, &hr, &Task::Dn { sigma: 50.0 }, Roi::new(48, 48, 32))?;
    println!("{}", run.table1_line());
    let out = std::path::Path::new("out/quick_map");
    run.save(out)?;
    cem::plot::panel(&run, &MapStyle::default())?.save(out.join("panel.png"))?;
    for row in run.effects().rows() {
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
    println!("wrote {}", out.display());
    Ok(())
}
