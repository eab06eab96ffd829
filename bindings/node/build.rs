fn main() {
    napi_build::setup();
    // A macOS dylib records the path it was linked at as its install name;
    // the addon is loaded by path, so record a neutral name instead of the
    // build machine's target directory.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/port4me.node");
    }
}
