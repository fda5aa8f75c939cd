//! Writing loose objects. gix's writer sets up a zlib compressor for each object, about 370 KB of
//! fresh memory zeroed per object: 0.5 ms or more apiece on a hook's path, where a commit's
//! evidence note writes three. The objects this tool writes are small (notes, their trees and
//! commits, trees from the index), so it stores them in zlib's uncompressed "stored" blocks
//! instead — a valid zlib stream, what git itself writes with `core.looseCompression = 0`.
//! `git gc` compresses them into a pack like any other loose object.

use std::io::Write;

use gix::objs::Kind;

use super::{Error, ObjectId, Result};

/// The largest object stored without compression; larger ones go through gix's compressor.
const STORED_MAX: usize = 64 * 1024;

/// Stored blocks hold at most this many bytes each.
const BLOCK: usize = 65_535;

/// `data` as a loose object of `kind`, zlib-wrapped without compression: header, stored blocks,
/// Adler-32 of the uncompressed bytes.
fn stored_zlib(kind: Kind, data: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(data.len() + 32);
    raw.extend_from_slice(kind.as_bytes());
    raw.push(b' ');
    raw.extend_from_slice(data.len().to_string().as_bytes());
    raw.push(0);
    raw.extend_from_slice(data);

    let blocks = raw.len().div_ceil(BLOCK).max(1);
    let mut out = Vec::with_capacity(raw.len() + 5 * blocks + 6);
    // CMF 0x78: deflate with a 32 KB window; FLG 0x01: fastest, and (CMF·256 + FLG) % 31 == 0.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut chunks = raw.chunks(BLOCK).peekable();
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = u16::try_from(chunk.len()).expect("a block holds at most 65 535 bytes");
        out.push(u8::from(last)); // BFINAL, BTYPE = 00 (stored)
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&zlib_rs::adler32::adler32(1, &raw).to_be_bytes());
    out
}

/// Write `data` as a loose object of `repo` (git's layout: `xx/yyyy…`, read-only, created as a
/// temporary file in its directory and renamed into place, so a reader never sees half an
/// object and an interrupted write leaves only a `tmp_obj_` file that `git gc` removes).
pub(super) fn write(repo: &gix::Repository, kind: Kind, data: &[u8]) -> Result<ObjectId> {
    let objects = repo.objects.store_ref().path();
    if data.len() > STORED_MAX {
        use gix::objs::Write as _;
        return repo
            .objects
            .write_buf(kind, data)
            .map_err(|e| Error::Io(format!("writing a {kind} into {}: {e}", objects.display())));
    }
    let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, kind, data)
        .map_err(|e| Error::Gix { context: format!("hashing a {kind}"), source: e })?;
    let hex = id.to_string();
    let dir = objects.join(&hex[..2]);
    let io = |e: std::io::Error| Error::Io(format!("writing object {hex} into {}: {e}", dir.display()));
    let bytes = stored_zlib(kind, data);
    let mut n = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!("tmp_obj_orchestrate_{}_{n}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o444);
        match options.open(&tmp) {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(&dir).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(io(e)),
        }
    };
    let written = file.write_all(&bytes).and_then(|()| std::fs::rename(&tmp, dir.join(&hex[2..])));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(zlib: &[u8], size: usize) -> Vec<u8> {
        let mut out = vec![0u8; size];
        let (got, code) = zlib_rs::decompress_slice(&mut out, zlib, zlib_rs::InflateConfig::default());
        assert_eq!(code, zlib_rs::ReturnCode::Ok);
        got.to_vec()
    }

    #[test]
    fn stored_streams_inflate_to_the_object() {
        for len in [0, 1, 100, BLOCK - 20, BLOCK, BLOCK + 1, 3 * BLOCK + 7] {
            let data: Vec<u8> = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
            let zlib = stored_zlib(Kind::Blob, &data);
            let mut want = format!("blob {len}\0").into_bytes();
            want.extend_from_slice(&data);
            assert_eq!(inflate(&zlib, want.len() + 1), want, "length {len}");
        }
    }
}
