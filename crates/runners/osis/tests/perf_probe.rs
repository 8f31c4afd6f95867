use hero_osis_runner::{Interrupt, Limits, engine::Script};
use std::collections::BTreeMap;
#[test]
fn perf() {
    let p = "let i = 0; let a = 1; let b = 2; let c = 3; while i < 3000000 { i += 1; a = b + c; }";
    let t = std::time::Instant::now();
    let r = Script::new("p", &Limits::default(), &Interrupt::new()).run(p, &BTreeMap::new());
    println!("{r:?} {:?}", t.elapsed());
}
