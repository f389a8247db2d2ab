//! The source tree stays in layers (docs/architecture.md): conversions at the
//! bottom, then the call runtime, then the objects scripts see, then install;
//! a lower layer never imports a higher one and the files form no import
//! circle, inside a layer either.

use std::path::Path;

#[test]
fn src_is_layered_without_import_circles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers = ["convert", "runtime", "objects", "install"];
    if let Err(e) = dbridge_testkit::layers::check_layers(&src, &layers, &[]) {
        panic!("{e}");
    }
}
