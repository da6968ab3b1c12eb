package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.util.Json;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The results file of {@code longbow batch}, safe to kill at any moment. Opening it reads what an earlier run left:
 * the ids of its complete lines are done, and a trailing partial line (no final newline, or not a JSON object with an
 * id) is cut off before anything is appended. Each result is one write of one whole line, so a kill leaves at most a
 * partial last line, which the next open removes; writes are serialized, so lines never interleave.
 *
 * <p>Durability: a killed process loses nothing it wrote (the bytes are in the OS page cache); only a crash of the
 * machine can lose lines not yet forced to disk. Forcing after every line cost 1.5 to 2.4 ms a line here (ext4 on a
 * shared VM disk: 1000 four-token completions on stories260K took 3.8 to 5.7 s against 2.3 to 3.3 s), so lines are
 * forced at most once per {@code forceEveryNanos} and at close: a power cut loses at most that much work, which the
 * next run generates again, and a line cut short by the crash is removed like any partial last line.
 *
 * <p>An exclusive file lock keeps two runs from appending to the same file, which would duplicate ids.
 */
final class BatchOutput implements AutoCloseable {
    /** What an earlier run left: the ids already answered, those answered with an error, and bytes of partial line removed. */
    record Resumed(Set<String> done, Set<String> errors, long truncatedBytes, int droppedErrorLines) {}

    private final Path path;
    private final FileChannel channel;
    private final FileLock lock;
    private final long forceEveryNanos;
    private final Resumed resumed;
    private long lastForce = System.nanoTime();
    private boolean dirty;

    private BatchOutput(Path path, FileChannel channel, FileLock lock, long forceEveryNanos, Resumed resumed) {
        this.path = path;
        this.channel = channel;
        this.lock = lock;
        this.forceEveryNanos = forceEveryNanos;
        this.resumed = resumed;
    }

    /**
     * Opens (or creates) {@code path} for appending results. With {@code retryErrors}, lines that recorded an error are
     * removed (the file is rewritten beside itself and renamed over, so a kill during the rewrite loses nothing) and
     * their ids count as not done.
     */
    static BatchOutput open(Path path, boolean retryErrors, long forceEveryNanos) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            FileLock lock = lock(ch, path);
            byte[] bytes = readAll(ch);
            Scan scan = scan(path, bytes);
            if (retryErrors && !scan.errors.isEmpty()) {
                byte[] kept = withoutErrorLines(bytes, scan.complete);
                Path tmp = path.resolveSibling(path.getFileName() + ".rewrite");
                Files.write(tmp, kept);
                try (FileChannel t = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    t.force(true);
                }
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                FileChannel fresh = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                lock.release();
                ch.close();
                ch = fresh;
                FileLock freshLock = lock(ch, path);
                Set<String> done = new HashSet<>(scan.done);
                done.removeAll(scan.errors);
                ch.position(ch.size());
                return new BatchOutput(path, ch, freshLock, forceEveryNanos,
                        new Resumed(done, Set.of(), bytes.length - scan.complete, scan.errorLines));
            }
            if (scan.complete < bytes.length) {
                ch.truncate(scan.complete);
                ch.force(true);
            }
            ch.position(scan.complete);
            return new BatchOutput(path, ch, lock, forceEveryNanos, new Resumed(scan.done, scan.errors, bytes.length - scan.complete, 0));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static FileLock lock(FileChannel ch, Path path) throws IOException {
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null; // held by this JVM: another batch run in the same process
        }
        if (lock == null) throw new LongbowException(path + ": another longbow batch is writing this file");
        return lock;
    }

    Resumed resumed() {
        return resumed;
    }

    /** Appends one result as one line, in one write. */
    synchronized void write(Map<String, Object> result) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap((Json.write(result) + "\n").getBytes(StandardCharsets.UTF_8));
        while (buf.hasRemaining()) channel.write(buf);
        dirty = true;
        forceIfDue(System.nanoTime());
    }

    /**
     * Forces written lines to disk if the last force was {@code forceEveryNanos} ago; called after each write and
     * on the runner's clock, so a line waits at most about that long even when no other line follows it.
     */
    synchronized void forceIfDue(long now) throws IOException {
        if (dirty && now - lastForce >= forceEveryNanos) {
            channel.force(false);
            lastForce = now;
            dirty = false;
        }
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            if (dirty) channel.force(false);
        } finally {
            if (lock.isValid()) lock.release();
            channel.close();
        }
    }

    private record Scan(Set<String> done, Set<String> errors, int complete, int errorLines) {}

    /** Finds the complete result lines; {@code complete} is the length of the prefix they make up. */
    private static Scan scan(Path path, byte[] bytes) {
        Set<String> done = new HashSet<>(), errors = new HashSet<>();
        int start = 0, lineNo = 0, errorLines = 0;
        while (start < bytes.length) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') end++;
            lineNo++;
            Map<?, ?> line = end < bytes.length ? resultLine(bytes, start, end) : null;
            if (line == null) {
                // Only the last line may be broken: that is what a kill leaves. A broken line with lines after it was
                // not written by an interrupted batch run, and appending after it would hide the damage.
                if (end + 1 < bytes.length) {
                    throw new LongbowException(path + ":" + lineNo + ": not a complete result line (a JSON object with an \"id\"); "
                            + "fix or remove it, or choose another --output");
                }
                break;
            }
            String key = BatchItem.key(line.get("id"));
            done.add(key);
            if (line.containsKey("error")) {
                errors.add(key);
                errorLines++;
            }
            start = end + 1;
        }
        return new Scan(done, errors, start, errorLines);
    }

    /** The line as a JSON object with a string or number id, else null. */
    private static Map<?, ?> resultLine(byte[] bytes, int start, int end) {
        try {
            return Json.parse(new String(bytes, start, end - start, StandardCharsets.UTF_8)) instanceof Map<?, ?> m
                    && (m.get("id") instanceof String || m.get("id") instanceof Number) ? m : null;
        } catch (LongbowException e) {
            return null;
        }
    }

    private static byte[] withoutErrorLines(byte[] bytes, int complete) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(complete);
        int start = 0;
        while (start < complete) {
            int end = start;
            while (bytes[end] != '\n') end++;
            if (!resultLine(bytes, start, end).containsKey("error")) out.write(bytes, start, end + 1 - start);
            start = end + 1;
        }
        return out.toByteArray();
    }

    private static byte[] readAll(FileChannel ch) throws IOException {
        long size = ch.size();
        if (size > Integer.MAX_VALUE - 16) throw new LongbowException("results file is over 2 GB; split the batch");
        ByteBuffer buf = ByteBuffer.allocate((int) size);
        while (buf.hasRemaining() && ch.read(buf, buf.position()) >= 0) { }
        return buf.array();
    }
}
