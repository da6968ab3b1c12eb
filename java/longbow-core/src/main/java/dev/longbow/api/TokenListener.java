package dev.longbow.api;

import dev.longbow.engine.TokenLogprobs;

/**
 * Receives a generation as it is produced, on the generating thread: each new token's id, the text it completes
 * (possibly empty while a character is split over tokens), and its log-probabilities when the request asked for them
 * (null otherwise). The echoed prompt and the text left at the end arrive with id -1 and no log-probabilities.
 */
@FunctionalInterface
public interface TokenListener {
    void onToken(int id, String text, TokenLogprobs logprobs);
}
