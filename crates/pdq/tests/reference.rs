//! The hasher against the PDQ reference data: images from Meta's ThreatExchange repository with the
//! hashes and qualities its C++ reference computed on the pixels Pillow 13 decodes.
//!
//! The data is in `tests/data/pdq` (BSD licence, see its LICENSE-ThreatExchange.txt);
//! `WARDEN_PDQ_REFERENCE` points elsewhere. Without it these tests fail rather than pass on nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pdq::{
    Hash256, Transform, dihedral_image_bytes, dihedral_rgb, hash_image_bytes, hash_image_file,
    hash_rgb,
};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference_dir() -> PathBuf {
    match std::env::var_os("WARDEN_PDQ_REFERENCE") {
        Some(dir) => PathBuf::from(dir),
        None => crate_root().join("tests/data/pdq"),
    }
}

fn images_dir() -> PathBuf {
    reference_dir().join("images")
}

/// The bytes of a reference image; panics, saying where it looked, if it is not there.
fn reference_image(path: &str) -> Vec<u8> {
    let file = images_dir().join(path);
    std::fs::read(&file).unwrap_or_else(|e| {
        panic!(
            "PDQ reference image not found: cannot read {} ({e}); set WARDEN_PDQ_REFERENCE to the \
             folder holding expected.tsv and images/",
            file.display()
        )
    })
}

#[derive(Debug, Clone)]
struct Expected {
    path: String,
    hash: Hash256,
    quality: u8,
}

/// The rows of `expected.tsv`; panics, saying where it looked, if the data is not there.
fn expected() -> Vec<Expected> {
    let file = reference_dir().join("expected.tsv");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "PDQ reference data not found: cannot read {} ({e}); set WARDEN_PDQ_REFERENCE to the \
             folder holding expected.tsv and images/",
            file.display()
        )
    });
    let rows: Vec<Expected> = text
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "bad line in {}: {line:?}", file.display());
            Expected {
                path: fields[0].to_string(),
                hash: fields[1]
                    .parse()
                    .unwrap_or_else(|e| panic!("{line:?}: {e}")),
                quality: fields[2]
                    .parse()
                    .unwrap_or_else(|e| panic!("{line:?}: {e}")),
            }
        })
        .collect();
    assert!(
        rows.len() >= 40,
        "{} lists only {} images",
        file.display(),
        rows.len()
    );
    rows
}

/// A scratch folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pdq-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Pixels as Pillow decodes them: path → (width, height, RGB bytes).
fn pillow_pixels(out: &Path) -> BTreeMap<String, (u32, u32, Vec<u8>)> {
    let script = workspace_root().join("scripts/pdq/pillow.sh");
    let run = Command::new("bash")
        .arg(&script)
        .arg(out)
        .arg(images_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
    assert!(
        run.status.success(),
        "{} failed ({}); it needs python3 with venv and pip access to install Pillow:\n{}{}",
        script.display(),
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let index =
        std::fs::read_to_string(out.join("index.tsv")).expect("pillow.sh wrote no index.tsv");
    index
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let (width, height) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            let rgb = std::fs::read(out.join(f[3])).unwrap();
            (f[0].to_string(), (width, height, rgb))
        })
        .collect()
}

#[test]
fn same_pixels_give_the_reference_hash_and_quality_exactly() {
    let expected = expected();
    let scratch = TempDir::new("pillow");
    let pixels = pillow_pixels(&scratch.0);
    let mut wrong = Vec::new();
    for e in &expected {
        let (width, height, rgb) = pixels
            .get(&e.path)
            .unwrap_or_else(|| panic!("Pillow did not decode {}", e.path));
        let got = hash_rgb(*width, *height, rgb).unwrap_or_else(|err| panic!("{}: {err}", e.path));
        if got.hash != e.hash || got.quality != e.quality {
            wrong.push(format!(
                "{}: {} q{} (distance {}), reference {} q{}",
                e.path,
                got.hash,
                got.quality,
                got.hash.distance(&e.hash),
                e.hash,
                e.quality
            ));
        }
    }
    println!(
        "{} of {} images bit-exact",
        expected.len() - wrong.len(),
        expected.len()
    );
    assert!(
        wrong.is_empty(),
        "hashes differ from the reference on the same pixels:\n{}",
        wrong.join("\n")
    );

    // The reference's dihedral variant on the same pixels (pdqhash 0.2.8 `compute_dihedral` on the
    // Pillow 13 pixels of bridge-1-original.jpg), in Transform::ALL order.
    let reference_dihedral = [
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        "30a10efd71c83f429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af",
        "adad5a64b5a102e55b62a08856dacd5ae63b847fc337b4b766b319361bc93188",
        "a5f0b457a49995e8c1065c275aaa54d8b61ba49df8fcfc0383c32f8b0bfc4f05",
        "f8f80f31e0f457b00637f5d5028f980fb36ed12a9622e1e233e64c634e9c64dd",
        "0dad2599b1a1bd1a5362576752da32a5e63b7380c2374b4866b346c91bc9ce77",
        "f0a5e102f1ccc0bd945308720fff038de34ef1e8ada9a956d2967ade5ea91a50",
        "a5f04ba8a4996a17c906a3d85aaaa927b61b5b42f8fc03fc87c3d0740bfcb0fa",
    ];
    let (width, height, rgb) = &pixels["reg-test-input/dih/bridge-1-original.jpg"];
    let dihedral = dihedral_rgb(*width, *height, rgb).unwrap();
    for ((transform, got), want) in dihedral.hashes().into_iter().zip(reference_dihedral) {
        assert_eq!(
            got.to_hex(),
            want,
            "dihedral {transform:?} of bridge-1-original.jpg"
        );
    }
    assert_eq!(dihedral.quality, 100);
}

#[test]
fn own_decoder_lands_within_10_of_the_reference() {
    let expected = expected();
    let mut failures = Vec::new();
    println!(
        "{:<45} {:>4} {:>5} {:>5}",
        "image", "dist", "q_ref", "q_own"
    );
    for e in &expected {
        let got = hash_image_file(&images_dir().join(&e.path))
            .unwrap_or_else(|err| panic!("{}: {err}", e.path));
        let distance = got.hash.distance(&e.hash);
        println!(
            "{:<45} {distance:>4} {:>5} {:>5}",
            e.path, e.quality, got.quality
        );
        // The reference data's own rule: decoded by another library, images of quality >= 80 stay
        // within distance 10 (and the quality within 10).
        if e.quality >= 80 && (distance > 10 || got.quality.abs_diff(e.quality) > 10) {
            failures.push(format!(
                "{}: distance {distance}, quality {} vs {}",
                e.path, got.quality, e.quality
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "decoded by this crate, too far from the reference:\n{}",
        failures.join("\n")
    );
}

/// The dihedral hashes of the bridge photo against the files holding its eight transforms, each
/// decoded and hashed on its own.
#[test]
fn dihedral_hashes_match_the_transformed_files() {
    let dir = images_dir().join("reg-test-input/dih");
    let original = reference_image("reg-test-input/dih/bridge-1-original.jpg");
    let dihedral = dihedral_image_bytes(&original).unwrap();
    assert_eq!(dihedral.original, hash_image_bytes(&original).unwrap().hash);
    let files = [
        (Transform::Original, "bridge-1-original.jpg"),
        (Transform::Rotate90, "bridge-2-rotate-90.jpg"),
        (Transform::Rotate180, "bridge-3-rotate-180.jpg"),
        (Transform::Rotate270, "bridge-4-rotate-270.jpg"),
        (Transform::FlipX, "bridge-5-flipx.jpg"),
        (Transform::FlipY, "bridge-6-flipy.jpg"),
        (Transform::FlipPlus1, "bridge-7-flip-plus-1.jpg"),
        (Transform::FlipMinus1, "bridge-8-flip-minus-1.jpg"),
    ];
    for (transform, file) in files {
        let hash = hash_image_file(&dir.join(file)).unwrap().hash;
        let distances: Vec<(Transform, u32)> = dihedral
            .hashes()
            .iter()
            .map(|&(t, h)| (t, h.distance(&hash)))
            .collect();
        println!("{file:<28} {distances:?}");
        let own = dihedral.get(transform).distance(&hash);
        let nearest_other = distances
            .iter()
            .filter(|(t, _)| *t != transform)
            .map(|&(_, d)| d)
            .min()
            .unwrap();
        // Measured with this crate's decoder: 0 for Original and FlipPlus1, 2 for Rotate90 and
        // FlipY, 8 for the other four (each file is a re-encoded JPEG, and the blur and the cell
        // centres are not quite symmetric when a direction is reversed); every wrong transform is
        // at 102 or more. 16 leaves room for a different JPEG decoder and stays well inside the
        // usual match threshold (31); the second check keeps the wrong ones far away.
        assert!(own <= 16, "{file}: {transform:?} is at distance {own}");
        assert!(
            nearest_other >= 64,
            "{file}: another transform is at distance {nearest_other}"
        );
    }
}

/// An Exif APP1 segment holding only an orientation tag (big-endian TIFF, one IFD entry).
fn exif_orientation_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\x00\x2a");
    tiff.extend_from_slice(&8u32.to_be_bytes()); // IFD0 right after the header
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let mut segment = vec![0xff, 0xe1];
    segment.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    segment.extend_from_slice(&payload);
    segment
}

/// The same JPEG with an Exif orientation spliced in after the start-of-image marker.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xff, 0xd8], "not a JPEG");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&exif_orientation_segment(orientation));
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_turns_the_image_upright_before_hashing() {
    // A photo without Exif of its own (1600x1004).
    let jpeg = reference_image("misc-images/modes/RGB.jpg");
    let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    let upright = hash_image_bytes(&jpeg).unwrap();
    // Orientation 6: the stored pixels must be turned a quarter clockwise for display;
    // 3: a half turn; 8: a quarter counter-clockwise.
    for (orientation, turned) in [
        (6, image::imageops::rotate90(&decoded)),
        (3, image::imageops::rotate180(&decoded)),
        (8, image::imageops::rotate270(&decoded)),
    ] {
        let tagged = hash_image_bytes(&with_orientation(&jpeg, orientation)).unwrap();
        let want = hash_rgb(turned.width(), turned.height(), turned.as_raw()).unwrap();
        assert_eq!(tagged, want, "orientation {orientation}");
        assert!(
            tagged.hash.distance(&upright.hash) > 64,
            "orientation {orientation} made no difference to the hash"
        );
    }
    // Orientation 1 is upright already.
    assert_eq!(
        hash_image_bytes(&with_orientation(&jpeg, 1)).unwrap(),
        upright
    );
}
