package dev.longbow.cuda.ops;

import dev.longbow.backend.Act;

/** Activations on the device: rows x cols F32, row-major, rows cols apart, at device address {@code ptr}. */
record CudaAct(long ptr, int rows, int cols) implements Act {
    long row(int r) {
        return ptr + 4L * r * cols;
    }
}
