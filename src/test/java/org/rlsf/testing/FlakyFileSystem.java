package org.rlsf.testing;

import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.apache.spark.TaskContext;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fault injection for tests, outside the product: the local file system under the scheme
 * {@code flaky://}, where the <em>first attempt</em> of chosen Spark partitions fails while closing a
 * Parquet data file it has written (so the task has done all its work and left a partial file in its
 * attempt directory). Registered through META-INF/services, so any Hadoop Configuration finds it.
 */
public class FlakyFileSystem extends RawLocalFileSystem {
    public static final String SCHEME = "flaky";
    private static final Set<Integer> FAIL_PARTITIONS = ConcurrentHashMap.newKeySet();
    private static final AtomicInteger INJECTED = new AtomicInteger();

    /** From now on, attempt 0 of these partitions fails; returns nothing, see {@link #injected()}. */
    public static void failFirstAttemptOf(Set<Integer> partitions) {
        FAIL_PARTITIONS.clear();
        FAIL_PARTITIONS.addAll(partitions);
        INJECTED.set(0);
    }

    public static void reset() {
        FAIL_PARTITIONS.clear();
    }

    /** Failures injected since the last {@link #failFirstAttemptOf}. */
    public static int injected() {
        return INJECTED.get();
    }

    public static String uri(java.io.File f) {
        return SCHEME + "://" + f.getAbsolutePath();
    }

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FSDataOutputStream create(Path f, FsPermission permission, boolean overwrite, int bufferSize,
                                     short replication, long blockSize, Progressable progress) throws IOException {
        return maybeFailing(f, super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress));
    }

    @Override
    public FSDataOutputStream create(Path f, boolean overwrite, int bufferSize, short replication, long blockSize,
                                     Progressable progress) throws IOException {
        return maybeFailing(f, super.create(f, overwrite, bufferSize, replication, blockSize, progress));
    }

    private static FSDataOutputStream maybeFailing(Path f, FSDataOutputStream out) {
        TaskContext task = TaskContext.get();
        if (task == null || task.attemptNumber() != 0 || !FAIL_PARTITIONS.contains(task.partitionId())
                || !f.getName().endsWith(".parquet")) {
            return out;
        }
        OutputStream failing = new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                super.close();
                INJECTED.incrementAndGet();
                throw new IOException("injected fault: attempt 0 of partition " + task.partitionId() + " dies after writing " + f);
            }
        };
        return new FSDataOutputStream(failing, null);
    }
}
