package dev.longbow;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the project root and ../shared for tests; tests needing shared files skip with the reason when absent. */
public final class TestData {
    private TestData() {}

    public static Path root() {
        String r = System.getProperty("longbow.root");
        Path p = r != null ? Path.of(r) : Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("models"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("cannot find the project root (no models/ folder above the working directory)");
        return p;
    }

    public static Path bundledModel() {
        return root().resolve("models/stories260K.bin");
    }

    public static Path shared(String relative) {
        String env = System.getenv("LONGBOW_SHARED");
        Path base = env != null ? Path.of(env) : root().resolve("../shared").normalize();
        Path p = base.resolve(relative);
        Assumptions.assumeTrue(Files.exists(p), "skipped: " + p + " is absent (set LONGBOW_SHARED to the shared data folder)");
        return p;
    }
}
