package dev.longbow.backend;

/** A backend-owned activation matrix: rows are tokens, cols are features. */
public interface Act {
    int rows();

    int cols();
}
