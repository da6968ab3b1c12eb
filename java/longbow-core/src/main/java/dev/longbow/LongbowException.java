package dev.longbow;

/**
 * The one exception type for problems a user can act on: a bad file, a bad option, a prompt that does not fit.
 * Its message is the single line the CLI prints, so it must name the problem (and the file) without a stack trace.
 */
public class LongbowException extends RuntimeException {
    public LongbowException(String message) {
        super(message);
    }

    public LongbowException(String message, Throwable cause) {
        super(message, cause);
    }
}
