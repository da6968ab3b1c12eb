package dev.longbow.backend;

/** Keys and values of every cached position, per layer; owned by the backend that allocated it. */
public interface KvCache extends AutoCloseable {
    int contextLength();

    /** Bytes of memory the keys and values take, as allocated. */
    long bytes();

    @Override
    void close();
}
