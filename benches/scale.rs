//! Scale runs (see issue: Scale). Placeholder until the nodes exist.
fn main() {
    println!("scale bench: not yet implemented");
}
