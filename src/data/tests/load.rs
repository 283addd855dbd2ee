//! Loading the builtin digits, IDX folders (real Fashion-MNIST and small written ones), and
//! the content hash.

use std::path::Path;
use std::time::Instant;

use super::{FASHION, digits, idx_bytes, idx_folder, message, spec};
use crate::data::{Normalisation, Source, Target, Task, content_hash, load};

#[test]
fn digits_loads_1797_rows_of_8x8_in_10_classes() {
    let ds = digits();
    assert_eq!(
        (ds.n, ds.shape.clone(), ds.classes),
        (1797, vec![1, 8, 8], 10)
    );
    assert_eq!(ds.x.len(), 1797 * 64);
    assert!(ds.x.iter().all(|&v| (0.0..=16.0).contains(&v)));
    let Target::Classes(y) = &ds.y else {
        panic!("digits are classes")
    };
    let mut counts = [0usize; 10];
    y.iter().for_each(|&c| counts[c as usize] += 1);
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert_eq!(ds.class_names[9], "9");
    assert_eq!(ds.official_test_from, None);
}

#[test]
fn unknown_builtin_lists_the_known_ones() {
    let mut s = spec(Source::Builtin, None);
    s.name = Some("iris".into());
    let e = message(load(&s, Path::new("."), None).unwrap_err());
    assert_eq!(
        e,
        "data.name: unknown builtin dataset `iris`; known: digits"
    );
}

#[test]
fn fashion_mnist_loads_70k_with_the_official_test_marker() {
    if !Path::new(FASHION).is_dir() {
        eprintln!("skipped: {FASHION} is not installed (apt-get install dataset-fashion-mnist)");
        return;
    }
    let ds = load(
        &spec(Source::Idx, Some(Path::new(FASHION))),
        Path::new("/"),
        None,
    )
    .expect("load");
    assert_eq!(
        (ds.n, ds.shape.clone(), ds.classes),
        (70_000, vec![1, 28, 28], 10)
    );
    assert_eq!(ds.official_test_from, Some(60_000));
    assert_eq!(ds.x.len(), 70_000 * 784);
    assert!(ds.x.iter().all(|&v| (0.0..=255.0).contains(&v)));
    // Both files are balanced: 6,000 + 1,000 of each class.
    let Target::Classes(y) = &ds.y else {
        panic!("classes")
    };
    assert_eq!(y[60_000..].iter().filter(|&&c| c == 3).count(), 1000);
    assert_eq!(y.iter().filter(|&&c| c == 3).count(), 7000);
}

/// `cargo test --release --no-default-features --lib fashion_load_time -- --ignored --nocapture`
#[test]
#[ignore]
fn fashion_load_time() {
    let s = spec(Source::Idx, Some(Path::new(FASHION)));
    for _ in 0..3 {
        let t = Instant::now();
        let ds = load(&s, Path::new("/"), None).expect("load");
        let load_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let h = content_hash(&s, Path::new("/")).expect("hash");
        let hash_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = crate::data::split(
            &ds,
            &serde_yaml::from_str("{test: official, val: 0.1}").unwrap(),
            1,
        )
        .expect("split");
        let split_s = t.elapsed().as_secs_f64();
        eprintln!(
            "fashion-mnist: load {load_s:.3} s ({} rows), content_hash {hash_s:.3} s ({}…), split {split_s:.3} s ({} dups)",
            ds.n,
            &h[..12],
            out.duplicates.len()
        );
    }
}

#[test]
fn idx_loads_gzipped_or_plain_and_marks_the_official_test() {
    for gzip in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        idx_folder(dir.path(), 30, 10, gzip);
        let ds = load(&spec(Source::Idx, Some(Path::new("."))), dir.path(), None)
            .expect("relative path");
        assert_eq!((ds.n, ds.official_test_from, ds.classes), (40, Some(30), 3));
        assert_eq!(ds.row(31), &[31.0; 16]);
        assert_eq!(ds.class_of(31), Some(1));
    }
    let dir = tempfile::tempdir().unwrap();
    idx_folder(dir.path(), 12, 0, true);
    let ds = load(&spec(Source::Idx, Some(dir.path())), Path::new("/"), None).unwrap();
    assert_eq!((ds.n, ds.official_test_from), (12, None));
}

#[test]
fn idx_errors_name_the_file() {
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            "train-images-idx3-ubyte",
            idx_bytes(0x801, &[2, 4, 4], &[0; 32]),
            "magic number 0x00000801, expected 0x00000803 (unsigned bytes, 3 dimension(s))",
        ),
        (
            "train-images-idx3-ubyte",
            idx_bytes(0x803, &[2, 4, 4], &[0; 31]),
            "header says 2x4x4 but the file holds 31 data bytes",
        ),
        (
            "train-images-idx3-ubyte",
            vec![0, 0, 8],
            "only 3 bytes, shorter than the IDX header",
        ),
        (
            "train-labels-idx1-ubyte",
            idx_bytes(0x801, &[3], &[0; 3]),
            "3 labels, but {dir}/train-images-idx3-ubyte has 2 images",
        ),
        (
            "train-images-idx3-ubyte.gz",
            b"\x1f\x8bnot gzip".to_vec(),
            "not a valid gzip file: invalid gzip header",
        ),
    ];
    for (file, bytes, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("train-images-idx3-ubyte"),
            idx_bytes(0x803, &[2, 4, 4], &[0; 32]),
        )
        .unwrap();
        std::fs::write(
            d.join("train-labels-idx1-ubyte"),
            idx_bytes(0x801, &[2], &[0, 1]),
        )
        .unwrap();
        if file.ends_with(".gz") {
            std::fs::remove_file(d.join("train-images-idx3-ubyte")).unwrap();
        }
        std::fs::write(d.join(file), bytes).unwrap();
        let e = message(load(&spec(Source::Idx, Some(d)), d, None).unwrap_err());
        let want = want.replace("{dir}", &d.display().to_string());
        assert_eq!(
            e,
            format!("{}/{file}: data.path: {want}", d.display()),
            "{file}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let e = message(load(&spec(Source::Idx, Some(dir.path())), dir.path(), None).unwrap_err());
    assert!(e.contains("has no train-images-idx3-ubyte(.gz)"), "{e}");
}

#[test]
fn content_hash_follows_the_bytes() {
    let b = spec(Source::Builtin, None);
    let h = content_hash(&b, Path::new(".")).unwrap();
    assert_eq!(h, content_hash(&b, Path::new("/elsewhere")).unwrap());
    assert_eq!(h.len(), 64);

    let dir = tempfile::tempdir().unwrap();
    idx_folder(dir.path(), 20, 5, true);
    let s = spec(Source::Idx, Some(dir.path()));
    let first = content_hash(&s, Path::new("/")).unwrap();
    assert_eq!(first, content_hash(&s, Path::new("/")).unwrap());
    idx_folder(dir.path(), 21, 5, true);
    assert_ne!(first, content_hash(&s, Path::new("/")).unwrap());

    let csv = super::write(dir.path(), "a.csv", "x,y\n1,2\n");
    let c = super::csv_spec(&csv, "y");
    let h1 = content_hash(&c, Path::new("/")).unwrap();
    super::write(dir.path(), "a.csv", "x,y\n1,3\n");
    assert_ne!(h1, content_hash(&c, Path::new("/")).unwrap());
}

#[test]
fn select_and_normalise() {
    let ds = digits();
    let sub = ds.select(&[5, 0, 5]);
    assert_eq!((sub.n, sub.row(0), sub.row(1)), (3, ds.row(5), ds.row(0)));
    assert_eq!(sub.class_of(2), ds.class_of(5));

    let rows: Vec<u32> = (0..100).collect();
    let norm = Normalisation::fit(&ds, &rows);
    assert_eq!((norm.mean.len(), norm.std.len()), (1, 1), "one channel");
    let mut part = ds.select(&rows);
    part.normalise(&norm).unwrap();
    let mean: f64 = part.x.iter().map(|&v| f64::from(v)).sum::<f64>() / part.x.len() as f64;
    let var: f64 = part
        .x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / part.x.len() as f64;
    assert!(
        mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
        "mean {mean} var {var}"
    );

    // Tabular data: one statistic per feature, and a constant feature is centred only.
    let mut tab = ds.select(&rows);
    tab.shape = vec![64];
    let norm = Normalisation::fit(&tab, &(0..100).collect::<Vec<_>>());
    assert_eq!(norm.mean.len(), 64);
    assert_eq!(
        (norm.mean[0], norm.std[0]),
        (0.0, 1.0),
        "pixel 0 is always 0 in digits"
    );
    assert!(
        tab.normalise(&Normalisation::identity(&digits())).is_err(),
        "1 channel vs 64 features"
    );
    assert_eq!(tab.task, Task::Classification);
}
