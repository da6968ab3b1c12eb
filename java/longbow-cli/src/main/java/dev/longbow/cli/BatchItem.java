package dev.longbow.cli;

import dev.longbow.engine.SamplerParams;
import dev.longbow.util.Json;

import java.util.List;

/**
 * One valid input line of {@code longbow batch}: its id as given (a string or a number, written back unchanged),
 * the line it came from, the prompt text (messages already rendered), and how to generate. {@code priority}: with
 * continuous batching, higher goes into the batch first.
 */
record BatchItem(Object id, int line, String prompt, int maxTokens, SamplerParams sampling, List<String> stop, int priority) {
    BatchItem {
        stop = List.copyOf(stop);
    }

    /** The id's identity: its JSON spelling, so the string "7" and the number 7 are different ids but 7 and 7.0 are not. */
    String key() {
        return key(id);
    }

    static String key(Object id) {
        return Json.write(id);
    }
}
