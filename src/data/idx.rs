//! MNIST-format IDX files (gzipped or not) from one folder: `train-*` and optional `t10k-*`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Dataset, Target, Task};

/// Magic numbers: two zero bytes, the type (0x08 = unsigned byte), the number of dimensions.
const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;

/// The image and label files of one part (train or t10k).
#[derive(Debug, Clone)]
pub struct Pair {
    pub images: PathBuf,
    pub labels: PathBuf,
}

/// The files `load` reads from a folder.
#[derive(Debug, Clone)]
pub struct Files {
    pub train: Pair,
    pub test: Option<Pair>,
}

impl Files {
    /// Every file, sorted by name (the order `content_hash` uses).
    pub fn all(&self) -> Vec<&Path> {
        let mut v = vec![self.train.images.as_path(), self.train.labels.as_path()];
        if let Some(t) = &self.test {
            v.extend([t.images.as_path(), t.labels.as_path()]);
        }
        v.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
        v
    }
}

/// Find the IDX files in `dir`. Both the canonical `train-images-idx3-ubyte` and the
/// `train-images.idx3-ubyte` spelling some mirrors use are accepted, each with or without `.gz`.
pub fn find(dir: &Path) -> crate::Result<Files> {
    if !dir.is_dir() {
        return Err(usage(
            dir,
            "is not a folder (idx data needs the folder holding the IDX files)",
        ));
    }
    let train = find_pair(dir, "train")?.ok_or_else(|| {
        usage(
            dir,
            "has no train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz)",
        )
    })?;
    let test = find_pair(dir, "t10k")?;
    Ok(Files { train, test })
}

fn find_pair(dir: &Path, part: &str) -> crate::Result<Option<Pair>> {
    let images = find_one(dir, part, "images", "idx3")?;
    let labels = find_one(dir, part, "labels", "idx1")?;
    match (images, labels) {
        (Some(images), Some(labels)) => Ok(Some(Pair { images, labels })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(usage(
            dir,
            &format!("has {part}-images but no {part}-labels-idx1-ubyte(.gz)"),
        )),
        (None, Some(_)) => Err(usage(
            dir,
            &format!("has {part}-labels but no {part}-images-idx3-ubyte(.gz)"),
        )),
    }
}

fn find_one(dir: &Path, part: &str, kind: &str, idx: &str) -> crate::Result<Option<PathBuf>> {
    let mut found = Vec::new();
    for sep in ['-', '.'] {
        for ext in ["", ".gz"] {
            let p = dir.join(format!("{part}-{kind}{sep}{idx}-ubyte{ext}"));
            if p.is_file() {
                found.push(p);
            }
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => {
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            Err(usage(
                dir,
                &format!(
                    "holds several {part} {kind} files, keep one: {}",
                    names.join(", ")
                ),
            ))
        }
    }
}

fn usage(dir: &Path, msg: &str) -> crate::Error {
    crate::Error::Usage(format!("data.path: {} {msg}", dir.display()))
}

/// Load train (and t10k when present, appended after the train rows). Pixels stay 0..255.
pub fn load(dir: &Path, task: Task) -> crate::Result<Dataset> {
    if task != Task::Classification {
        return Err(crate::Error::Usage(
            "data.task: idx data has class labels; set `task: classification`".into(),
        ));
    }
    let files = find(dir)?;
    // Decompressing is most of the time; the two parts decode on two threads.
    let (train, test) = std::thread::scope(|s| {
        let t = files.test.as_ref().map(|p| s.spawn(move || read_pair(p)));
        let train = read_pair(&files.train);
        let test = t.map(|h| {
            h.join()
                .map_err(|_| crate::Error::internal("idx reader panicked"))
        });
        (train, test)
    });
    let train = train?;
    let test = match test {
        Some(t) => Some(t??),
        None => None,
    };
    let official_test_from = test.as_ref().map(|_| train.count);
    let (rows, cols) = (train.rows, train.cols);
    if let (Some(t), Some(p)) = (&test, &files.test)
        && (t.rows, t.cols) != (rows, cols)
    {
        let msg = format!(
            "images are {}x{}, the train images {rows}x{cols}",
            t.rows, t.cols
        );
        return Err(input(&p.images, &msg));
    }
    let parts: Vec<&Part> = std::iter::once(&train).chain(test.as_ref()).collect();
    let n: usize = parts.iter().map(|p| p.count).sum();
    let x = to_f32(
        &parts.iter().map(|p| p.pixels()).collect::<Vec<_>>(),
        n * rows * cols,
    );
    let y: Vec<i64> = parts
        .iter()
        .flat_map(|p| p.labels().iter().map(|&l| i64::from(l)))
        .collect();
    let classes = y.iter().copied().max().map_or(0, |m| m as usize + 1);
    Ok(Dataset {
        x,
        n,
        shape: vec![1, rows, cols],
        y: Target::Classes(y),
        classes,
        class_names: (0..classes).map(|c| c.to_string()).collect(),
        task: Task::Classification,
        feature_names: Vec::new(),
        groups: None,
        official_test_from,
        source: None,
    })
}

/// The pixels of all parts as one f32 array, converted on all cores: writing 220 MB of
/// fresh memory is a third of the load time on one core. No copy between decode and here.
fn to_f32(parts: &[&[u8]], total: usize) -> Vec<f32> {
    // Zeroed allocation is lazily mapped, so the page faults happen in the threads below.
    let mut x = vec![0f32; total];
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(8);
    let chunk = total.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let mut rest: &mut [f32] = &mut x;
        for src in parts {
            let (dst, tail) = rest.split_at_mut(src.len());
            rest = tail;
            for (d, b) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
                s.spawn(move || d.iter_mut().zip(b).for_each(|(o, &v)| *o = f32::from(v)));
            }
        }
    });
    x
}

/// One decoded file pair, headers still in front (skipping them beats copying 47 MB).
struct Part {
    images: Vec<u8>,
    labels: Vec<u8>,
    count: usize,
    rows: usize,
    cols: usize,
}

impl Part {
    fn pixels(&self) -> &[u8] {
        &self.images[IMAGES_HEADER..]
    }
    fn labels(&self) -> &[u8] {
        &self.labels[LABELS_HEADER..]
    }
}

fn read_pair(p: &Pair) -> crate::Result<Part> {
    let images = read_file(&p.images)?;
    let labels = read_file(&p.labels)?;
    let idims = parse(&p.images, &images, IMAGES_MAGIC, 3)?;
    let ldims = parse(&p.labels, &labels, LABELS_MAGIC, 1)?;
    let (count, rows, cols) = (idims[0], idims[1], idims[2]);
    if ldims[0] != count {
        return Err(input(
            &p.labels,
            &format!(
                "{} labels, but {} has {count} images",
                ldims[0],
                p.images.display()
            ),
        ));
    }
    if rows == 0 || cols == 0 {
        return Err(input(&p.images, &format!("images are {rows}x{cols}")));
    }
    Ok(Part {
        images,
        labels,
        count,
        rows,
        cols,
    })
}

/// The whole file, decompressed when it starts with the gzip magic (whatever its name says).
fn read_file(path: &Path) -> crate::Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        // IDX images are ~1.3 bytes per compressed byte at worst; reserve to avoid regrowth.
        let mut out = Vec::with_capacity(raw.len() * 2);
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| input(path, &format!("not a valid gzip file: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Check the header and return the dimensions; the body must hold exactly their product.
fn parse(path: &Path, bytes: &[u8], magic: u32, ndims: usize) -> crate::Result<Vec<usize>> {
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(input(
            path,
            &format!("only {} bytes, shorter than the IDX header", bytes.len()),
        ));
    }
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let got = word(0);
    if got != magic {
        return Err(input(
            path,
            &format!(
                "magic number 0x{got:08x}, expected 0x{magic:08x} (unsigned bytes, {ndims} dimension(s))"
            ),
        ));
    }
    let dims: Vec<usize> = (0..ndims).map(|d| word(4 + 4 * d) as usize).collect();
    let expected = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let body = &bytes[header..];
    if expected != Some(body.len()) {
        let shape: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        return Err(input(
            path,
            &format!(
                "header says {} but the file holds {} data bytes",
                shape.join("x"),
                body.len()
            ),
        ));
    }
    Ok(dims)
}

fn input(path: &Path, msg: &str) -> crate::Error {
    crate::Error::Input {
        file: path.to_path_buf(),
        line: None,
        field: "data.path".into(),
        msg: msg.into(),
    }
}
