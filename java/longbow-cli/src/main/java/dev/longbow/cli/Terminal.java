package dev.longbow.cli;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Whether stderr is a terminal, for output that redraws a line in place. */
final class Terminal {
    private Terminal() {}

    /**
     * The launcher's answer if it gave one (it filters stderr through a pipe, so the JVM cannot see the terminal),
     * else the C library's isatty on descriptor 2: System.console() describes stdin and stdout, and a batch run whose
     * stderr goes to a log file while stdout is a terminal must not fill the log with carriage returns.
     */
    static boolean stderrIsTerminal() {
        String told = System.getProperty("longbow.stderr.terminal");
        if (told != null) return Boolean.parseBoolean(told);
        try {
            Linker linker = Linker.nativeLinker();
            var isatty = linker.defaultLookup().find("isatty");
            if (isatty.isPresent()) {
                MethodHandle h = linker.downcallHandle(isatty.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                return (int) h.invokeExact(2) == 1;
            }
        } catch (Throwable e) {
            // No native access (a JVM started without --enable-native-access): fall back to the console check.
        }
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }
}
