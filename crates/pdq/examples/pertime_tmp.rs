use std::time::Instant;
fn main() {
    let root = std::path::Path::new("/work/shared/data/pdq/images");
    let idx = std::fs::read_to_string("/tmp/pdq-rgb/index.tsv").unwrap();
    let mut h = pdq::Hasher::new();
    for line in idx.lines().skip(1) {
        let p = line.split('\t').next().unwrap();
        let path = root.join(p);
        let bytes = std::fs::read(&path).unwrap();
        let n = 10;
        let t = Instant::now();
        for _ in 0..n { std::hint::black_box(image::load_from_memory(&bytes).unwrap()); }
        let dec = t.elapsed().as_secs_f64() / n as f64 * 1000.0;
        let t = Instant::now();
        for _ in 0..n { std::hint::black_box(h.hash_image_bytes(&bytes).unwrap()); }
        let all = t.elapsed().as_secs_f64() / n as f64 * 1000.0;
        println!("{p}\t{dec:.2}\t{all:.2}");
    }
}
