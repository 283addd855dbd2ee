//! CSV files that load: label mapping, regression, feature selection, quoting, groups.

use std::path::Path;

use super::{csv_spec, write};
use crate::data::{Target, Task, load};

#[test]
fn string_labels_map_to_sorted_class_indices() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "pets.csv",
        "weight,kind,height\n4.5,dog,30\n3,cat,25\n5,dog,35\n1,bird,10\n",
    );
    let ds = load(&csv_spec(&p, "kind"), Path::new("/"), None).unwrap();
    assert_eq!(ds.class_names, ["bird", "cat", "dog"]);
    assert_eq!(ds.y, Target::Classes(vec![2, 1, 2, 0]));
    assert_eq!((ds.n, ds.shape.clone(), ds.classes), (4, vec![2], 3));
    assert_eq!(ds.feature_names, ["weight", "height"]);
    assert_eq!(ds.row(0), &[4.5, 30.0]);
}

#[test]
fn integer_labels_sort_numerically() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "n.csv", "a,y\n1,10\n2,9\n3,-1\n4,9\n");
    let ds = load(&csv_spec(&p, "y"), Path::new("/"), None).unwrap();
    assert_eq!(ds.class_names, ["-1", "9", "10"]);
    assert_eq!(ds.y, Target::Classes(vec![2, 1, 0, 1]));
}

#[test]
fn regression_features_subset_quotes_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\u{feff}\"id, with comma\",price,\"size \"\"m2\"\"\",rooms,site\r\n\
                1,100.5,50,2,\"north\"\r\n\r\n2,200,\"80\",3,south\n";
    let p = write(dir.path(), "houses.csv", text);
    let mut s = csv_spec(&p, "price");
    s.task = Task::Regression;
    s.features = Some(vec!["rooms".into(), "size \"m2\"".into()]);
    let ds = load(&s, Path::new("/"), Some("site")).unwrap();
    assert_eq!(ds.y, Target::Values(vec![100.5, 200.0]));
    assert_eq!((ds.classes, ds.class_names.len()), (0, 0));
    assert_eq!(ds.feature_names, ["rooms", "size \"m2\""]);
    assert_eq!(ds.x, [2.0, 50.0, 3.0, 80.0]);
    assert_eq!(
        ds.groups,
        Some(vec!["north".to_string(), "south".to_string()])
    );

    // Default features: everything but the label and the group column.
    s.features = None;
    let ds = load(&s, Path::new("/"), Some("site")).unwrap();
    assert_eq!(ds.feature_names, ["id, with comma", "size \"m2\"", "rooms"]);
}
