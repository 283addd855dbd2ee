fn main() {
    println!("hpflow");
}
