//! Gives the shared library its SONAME (libcapgc.so.0), so that programs
//! linked against an installed libcapgc find it by its ABI version.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcapgc.so.0");
}
