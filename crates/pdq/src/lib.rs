//! PDQ perceptual hashing (the algorithm Meta published for matching copies and near-copies of
//! images) and an exact index that finds every stored hash within a Hamming distance of a query.
//!
//! Nothing here knows about cases, banks or policies: the desk builds those on top.

mod hash256;
pub mod hasher;
pub mod index;

pub use hash256::{Hash256, ParseHashError};
pub use hasher::{
    DEFAULT_MAX_PIXELS, Dihedral, HashError, Hashed, Hasher, MIN_SIDE, Transform,
    dihedral_image_bytes, dihedral_rgb, hash_image_bytes, hash_image_file, hash_luma_f32, hash_rgb,
};
pub use index::{DEFAULT_MAX_DISTANCE, HashIndex, IndexError, Kernel, Match, Strategy};
