package dev.longbow.engine;

/** Why generation ended. */
public enum StopReason {
    /** The model produced its end-of-text token. */
    END_OF_TEXT,
    /** The requested number of new tokens was produced. */
    MAX_TOKENS,
    /** The sequence filled the context window. */
    CONTEXT_FULL,
    /** The caller cancelled. */
    CANCELLED
}
