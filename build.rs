//! Gives every binary, test, example and bench of this package an rpath to the
//! libtorch that torch-sys linked against, so they start without LD_LIBRARY_PATH.
fn main() {
    // torch-sys (links = "tch") exports its lib dir to direct dependents.
    let dir = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .ok()
        .or_else(|| std::env::var("LIBTORCH").ok().map(|l| format!("{l}/lib")));
    if let Some(dir) = dir {
        let dir = std::fs::canonicalize(&dir)
            .map(|p| p.display().to_string())
            .unwrap_or(dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:rustc-env=CEM_LIBTORCH_LIB={dir}");
    }
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=build.rs");
}
