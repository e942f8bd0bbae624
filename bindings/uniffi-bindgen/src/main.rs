//! `uniffi-bindgen generate --library <lib> --language kotlin|swift --out-dir DIR`,
//! used by `scripts/generate-bindings.sh`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
