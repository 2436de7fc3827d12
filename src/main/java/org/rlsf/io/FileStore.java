package org.rlsf.io;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Every path the project reads or writes goes through here, on Hadoop's {@link FileSystem}, so
 * {@code file://}, {@code hdfs://} and {@code s3a://} URIs (and plain local paths) work unchanged.
 * I/O failures surface as {@link UncheckedIOException}s that name the path.
 */
public final class FileStore {
    private final Configuration hadoop;

    public FileStore(Configuration hadoop) {
        this.hadoop = hadoop;
    }

    /** A store on a default Hadoop configuration (core-site.xml etc. from the classpath). */
    public static FileStore local() {
        return new FileStore(new Configuration());
    }

    public static Path path(String uri) {
        return new Path(uri);
    }

    public FileSystem fs(Path p) {
        try {
            return p.getFileSystem(hadoop);
        } catch (IOException e) {
            throw new UncheckedIOException("no file system for " + p + ": " + e.getMessage(), e);
        }
    }

    /** Fully qualified form (scheme and authority), for lineage records. */
    public String qualify(Path p) {
        return fs(p).makeQualified(p).toString();
    }

    public boolean exists(Path p) {
        try {
            return fs(p).exists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + p + ": " + e.getMessage(), e);
        }
    }

    public void mkdirs(Path p) {
        try {
            fs(p).mkdirs(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create directory " + p + ": " + e.getMessage(), e);
        }
    }

    public void delete(Path p) {
        try {
            fs(p).delete(p, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + p + ": " + e.getMessage(), e);
        }
    }

    public List<Path> list(Path dir) {
        try {
            List<Path> out = new ArrayList<>();
            for (FileStatus s : fs(dir).listStatus(dir)) {
                out.add(s.getPath());
            }
            out.sort(null);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    public InputStream open(Path p) {
        try {
            return fs(p).open(p);
        } catch (FileNotFoundException e) {
            throw new UncheckedIOException("file not found: " + p, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /**
     * A UTF-8 text reader that fails on bytes that are not UTF-8 (a {@link java.nio.charset.CharacterCodingException}
     * from {@code readLine}) instead of silently replacing them. The reader's buffer holds one character, so the
     * error surfaces in the {@code readLine} of the line that holds the bad bytes, not in an earlier one that filled a
     * buffer past it (the decoder below still reads the bytes in blocks).
     */
    public BufferedReader openText(Path p) {
        return new BufferedReader(new InputStreamReader(new java.io.BufferedInputStream(open(p), 1 << 16),
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                        .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)), 1);
    }

    /** SHA-256 of everything {@code in} holds, hex, streamed (and {@code in} closed). */
    public static String sha256(InputStream in) {
        try (InputStream stream = in) {
            java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = stream.read(buf)) >= 0; ) {
                digest.update(buf, 0, n);
            }
            return java.util.HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read for hashing: " + e.getMessage(), e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public byte[] readBytes(Path p) {
        try (InputStream in = open(p)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    public String readText(Path p) {
        return new String(readBytes(p), StandardCharsets.UTF_8);
    }

    public OutputStream create(Path p) {
        try {
            FSDataOutputStream out = fs(p).create(p, true);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + p + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes a whole small file (JSON summaries, manifests, configs) through a sibling temporary file renamed over
     * {@code p}: a reader, or a rerun after a kill, sees the old content or the new, never a truncated file. The rename
     * replaces atomically on local file systems and HDFS; on object stores (S3A) a rename is a copy, so there the new
     * object appears whole but not atomically with respect to the old one.
     */
    public void writeText(Path p, String text) {
        Path tmp = new Path(p.getParent(), "." + p.getName() + ".tmp-" + UUID.randomUUID());
        try {
            try (OutputStream out = create(tmp)) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
            replace(tmp, p);
        } catch (IOException e) {
            delete(tmp);
            throw new UncheckedIOException("cannot write " + p + ": " + e.getMessage(), e);
        }
    }

    /** Renames the file {@code from} over {@code to}: atomically through FileContext where the scheme has one. */
    private void replace(Path from, Path to) throws IOException {
        FileSystem fs = fs(to);
        try {
            org.apache.hadoop.fs.FileContext.getFileContext(fs.getUri(), hadoop)
                    .rename(from, to, org.apache.hadoop.fs.Options.Rename.OVERWRITE);
            return;
        } catch (org.apache.hadoop.fs.UnsupportedFileSystemException noFileContext) {
            // a FileSystem without an AbstractFileSystem binding: its own rename (POSIX-like ones replace)
        }
        if (!fs.rename(from, to)) {
            fs.delete(to, false);
            if (!fs.rename(from, to)) {
                throw new IOException("rename " + from + " -> " + to + " failed");
            }
        }
    }

    /**
     * Appends a line (creating the file): the earlier lines are never rewritten, so a kill loses at most the line being
     * written. Local files append through the raw file system (the checksummed one cannot append; an older checksum
     * file is dropped), HDFS appends natively; a store that cannot append (S3A) gets the file rewritten through
     * {@link #writeText}, whole or not at all.
     */
    public void appendLine(Path p, String line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            FileSystem fs = fs(p);
            if (fs instanceof org.apache.hadoop.fs.LocalFileSystem local) {
                Path crc = local.getChecksumFile(p);
                if (local.exists(crc)) {
                    local.delete(crc, false);
                }
                FileSystem raw = local.getRaw();
                try (OutputStream out = raw.exists(p) ? raw.append(p) : raw.create(p, false)) {
                    out.write(bytes);
                }
                return;
            }
            if (!fs.exists(p)) {
                try (OutputStream out = fs.create(p, false)) {
                    out.write(bytes);
                }
                return;
            }
            OutputStream opened;
            try {
                opened = fs.append(p);
            } catch (UnsupportedOperationException | IOException notAppendable) {
                // the store cannot append (S3A throws UnsupportedOperationException, some an IOException), or not now
                // (HDFS while it recovers a killed writer's lease): the whole file, old lines and the new one, goes
                // through writeText's temp + rename instead, so nothing written before is lost either way
                writeText(p, readText(p) + new String(bytes, StandardCharsets.UTF_8));
                return;
            }
            try (OutputStream out = opened) {   // a failed write is an error, never retried over a partial line
                out.write(bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + p + ": " + e.getMessage(), e);
        }
    }

    /** A sibling temporary directory for writing {@code target} atomically with {@link #commit}. */
    public Path stagingFor(Path target) {
        Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
        mkdirs(tmp);
        return tmp;
    }

    /**
     * Moves a fully written staging directory to {@code target}, replacing any previous one.
     * A reader sees either the old or the new directory at {@code target}, never a half-written one. Replacing takes
     * two renames (no file system swaps directories atomically): a kill between them leaves the old directory as
     * {@code .NAME.old-*} beside the missing target, and {@link #recover} (called here and by checkpoint readers)
     * moves it back, so nothing committed is lost. On object stores (S3A) a rename is a copy: there a commit is
     * whole-or-nothing only through this recovery.
     */
    public void commit(Path staging, Path target) {
        recover(target);
        try {
            FileSystem fs = fs(target);
            Path old = null;
            if (fs.exists(target)) {
                old = new Path(target.getParent(), "." + target.getName() + ".old-" + UUID.randomUUID());
                if (!fs.rename(target, old)) {
                    throw new IOException("rename " + target + " -> " + old + " failed");
                }
            }
            if (!fs.rename(staging, target)) {
                throw new IOException("rename " + staging + " -> " + target + " failed");
            }
            if (old != null) {
                fs.delete(old, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot commit " + target + ": " + e.getMessage(), e);
        }
    }

    /**
     * Restores {@code target} from the previous version a {@link #commit} killed between its renames left beside it
     * ({@code .NAME.old-*}), when {@code target} itself is missing; otherwise does nothing. Returns whether it restored.
     */
    public boolean recover(Path target) {
        try {
            FileSystem fs = fs(target);
            if (target.getParent() == null || fs.exists(target) || !fs.exists(target.getParent())) {
                return false;
            }
            String prefix = "." + target.getName() + ".old-";
            FileStatus newest = null;
            for (FileStatus s : fs.listStatus(target.getParent())) {
                if (s.getPath().getName().startsWith(prefix)
                        && (newest == null || s.getModificationTime() > newest.getModificationTime())) {
                    newest = s;
                }
            }
            return newest != null && fs.rename(newest.getPath(), target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot recover " + target + ": " + e.getMessage(), e);
        }
    }

    /** The local file behind a path, or null when the path is on a remote file system. */
    public java.io.File localFile(Path p) {
        String scheme = fs(p).getUri().getScheme();
        if (!"file".equals(scheme)) {
            return null;
        }
        return new java.io.File(fs(p).makeQualified(p).toUri().getPath());
    }
}
