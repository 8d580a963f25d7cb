// bindings/rust/build.rs: links the crate against libmos.so. The library folder
// comes from MOS_LIB_DIR (e.g. the Meson build's lib/), else from
// `pkg-config --libs-only-L mos`, else the system linker path. An rpath to that
// folder is added so tests and programs run without LD_LIBRARY_PATH.
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MOS_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let mut dirs: Vec<String> = Vec::new();
    if let Ok(dir) = env::var("MOS_LIB_DIR") {
        if !dir.is_empty() {
            dirs.push(dir);
        }
    }
    if dirs.is_empty() {
        if let Ok(out) = Command::new("pkg-config").args(["--libs-only-L", "mos"]).output() {
            if out.status.success() {
                let text = String::from_utf8_lossy(&out.stdout);
                dirs.extend(text.split_whitespace().filter_map(|f| f.strip_prefix("-L")).map(String::from));
            }
        }
    }
    for dir in &dirs {
        println!("cargo:rustc-link-search=native={dir}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
    println!("cargo:rustc-link-lib=dylib=mos");
}
