package dev.longbow.backend;

/** Keys and values of every cached position, per layer; owned by the backend that allocated it. */
public interface KvCache extends AutoCloseable {
    int contextLength();

    @Override
    void close();
}
