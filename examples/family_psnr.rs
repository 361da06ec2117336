//! The shipped family against doing nothing: for every shipped model and each of its
//! tasks, the PSNR gain (model output minus doing nothing: the bicubic upsampling for
//! SR, the degraded input otherwise) on the whole held-out photo (`astronaut.png`) and
//! on the ten crops of `testset:builtin`. The model cards in `data/models/README.md`
//! quote it. SRCNN gets a second line against its own first step, the authors' bicubic
//! upsampling with `align_corners=True` (misaligned with PIL's by up to 1.5 px at the
//! edges, x4), which is all a fresh SRCNN can do.
//!
//! ```sh
//! cargo run --example family_psnr              # every shipped model
//! cargo run --example family_psnr rcan-s-x4    # some
//! ```

use cem::prelude::*;

fn gain(net: &Network, task: &Task, hr: &RgbImage, own_upsampler: bool) -> cem::Result<f64> {
    let d = task.degradation(0)?;
    let input = d.degrade(hr)?;
    let x = to_tensor(&input, Device::Cpu);
    let out = forward_checked(net, &x, d.scale())?;
    let got = cem::image::psnr(&tensor_to_rgb(&out)?, hr)?;
    let nothing = if d.scale() == 1 {
        cem::image::psnr(&input, hr)?
    } else if own_upsampler {
        let up = cem::zoo::Srcnn::upsample(&x, d.scale() as i64).clamp(0.0, 1.0);
        cem::image::psnr(&tensor_to_rgb(&up)?, hr)?
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
        let srcnn = info.config.arch == Arch::Srcnn;
        let lines = info
            .tasks()
            .into_iter()
            .flat_map(|t| [(t, false), (t, true)])
            .filter(|&(t, own)| !own || (srcnn && matches!(t, Task::Sr { .. })));
        for (task, own) in lines {
            let on_photo = gain(&net, &task, &photo, own)?;
            let gains: Vec<(String, f64)> = set
                .iter()
                .map(|t| Ok((t.name.clone(), gain(&net, &task, &t.image, own)?)))
                .collect::<cem::Result<_>>()?;
            let mean = gains.iter().map(|g| g.1).sum::<f64>() / gains.len() as f64;
            let worst = gains
                .iter()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("ten images");
            let each: Vec<String> = gains.iter().map(|(n, g)| format!("{n} {g:+.2}")).collect();
            println!(
                "{} {}{}: {on_photo:+.2} dB | {mean:+.2} dB, {:+.2} ({}) | {}",
                info.name,
                task.name(),
                if own { " (vs its own upsampling)" } else { "" },
                worst.1,
                worst.0,
                each.join(", ")
            );
        }
    }
    Ok(())
}
