//! The shipped family against doing nothing: for every shipped model and each of its
//! tasks, the PSNR gain (model output minus doing nothing: the bicubic upsampling for
//! SR, the degraded input otherwise) on the whole held-out photo (`astronaut.png`) and
//! on the ten crops of `testset:builtin`. The model cards in `data/models/README.md`
//! quote it.
//!
//! ```sh
//! cargo run --example family_psnr              # every shipped model
//! cargo run --example family_psnr rcan-s-x4    # some
//! ```

use cem::prelude::*;

fn gain(net: &Network, task: &Task, hr: &RgbImage) -> cem::Result<f64> {
    let d = task.degradation(0)?;
    let input = d.degrade(hr)?;
    let out = forward_checked(net, &to_tensor(&input, Device::Cpu), d.scale())?;
    let got = cem::image::psnr(&tensor_to_rgb(&out)?, hr)?;
    let nothing = if d.scale() == 1 {
        cem::image::psnr(&input, hr)?
    } else {
        let up = cem::degrade::resample::pil_bicubic(&input, hr.width(), hr.height());
        cem::image::psnr(&up, hr)?
    };
    Ok(got - nothing)
}

fn main() -> cem::Result<()> {
    let photo = cem::library::builtin_photo("astronaut.png")?;
    let set = cem::testset::builtin()?;
    let only: Vec<String> = std::env::args().skip(1).collect();
    println!("model task: photo gain | test set mean gain, worst (image) | per image");
    for info in cem::zoo::shipped_family()? {
        if !only.is_empty() && !only.contains(&info.name) {
            continue;
        }
        let net = info.load(Device::Cpu)?;
        for task in info.tasks() {
            let on_photo = gain(&net, &task, &photo)?;
            let gains: Vec<(String, f64)> = set
                .iter()
                .map(|t| Ok((t.name.clone(), gain(&net, &task, &t.image)?)))
                .collect::<cem::Result<_>>()?;
            let mean = gains.iter().map(|g| g.1).sum::<f64>() / gains.len() as f64;
            let worst = gains
                .iter()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("ten images");
            let each: Vec<String> = gains.iter().map(|(n, g)| format!("{n} {g:+.2}")).collect();
            println!(
                "{} {}: {on_photo:+.2} dB | {mean:+.2} dB, {:+.2} ({}) | {}",
                info.name,
                task.name(),
                worst.1,
                worst.0,
                each.join(", ")
            );
        }
    }
    Ok(())
}
