//! Files sqlveil keeps for itself (the token vault, the audit log and its
//! lock): created readable by their owner only, and locked across
//! processes with the standard library's advisory file locks (`flock` on
//! Unix, `LockFileEx` on Windows).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Options that create a file `0600` on Unix (owner read and write only);
/// an existing file keeps its permissions.
pub(crate) fn private_options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Opens (or creates, `0600`) a file for reading and appending.
pub(crate) fn open_read_append(path: &Path) -> io::Result<File> {
    private_options()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

/// An exclusive lock on a file, held until it is dropped. Locks conflict
/// between processes and between separately opened handles in one process.
pub(crate) struct Exclusive<'f>(&'f File);

impl<'f> Exclusive<'f> {
    /// Blocks until the lock is held.
    pub(crate) fn lock(file: &'f File) -> io::Result<Exclusive<'f>> {
        file.lock()?;
        Ok(Exclusive(file))
    }
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        // Closing the handle releases the lock too; an unlock failure leaves
        // nothing to do.
        let _ = self.0.unlock();
    }
}

/// A file's identity (device and inode on Unix), to tell when a path was
/// replaced (renamed away, rotated) under an open handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId(u64, u64);

impl FileId {
    pub(crate) fn of(meta: &std::fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId(meta.dev(), meta.ino())
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            FileId(0, 0)
        }
    }
}
