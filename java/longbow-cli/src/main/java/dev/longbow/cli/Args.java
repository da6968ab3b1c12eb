package dev.longbow.cli;

import dev.longbow.LongbowException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses "--name value" and "--flag" options against the set a command declares, so an unknown or
 * incomplete option is one clear error rather than silently ignored.
 */
final class Args {
    private final String command;
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Map<String, List<String>> repeats = new LinkedHashMap<>();
    private final List<String> argv;

    Args(String command, List<String> argv, Set<String> valued, Set<String> flags) {
        this.command = command;
        this.argv = List.copyOf(argv);
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            String name = a, inline = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            if (valued.contains(name)) {
                if (inline == null) {
                    if (i + 1 >= argv.size()) throw new LongbowException(command + ": option " + name + " needs a value");
                    inline = argv.get(++i);
                }
                values.put(name, inline);
                repeats.computeIfAbsent(name, k -> new ArrayList<>()).add(inline);
            } else if (flags.contains(name) && inline == null) {
                values.put(name, "true");
            } else {
                throw new LongbowException(command + ": unknown option '" + a + "' (see longbow " + command + " --help)");
            }
        }
    }

    /** The options as given, for reports that record the command that made them. */
    List<String> argv() {
        return argv;
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    /** Every value given for an option that may be repeated, in order; empty if not given. */
    List<String> all(String name) {
        return repeats.getOrDefault(name, List.of());
    }

    String str(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    Path path(String name) {
        String v = values.get(name);
        return v == null ? null : Path.of(v);
    }

    int integer(String name, int dflt) {
        long v = longValue(name, dflt);
        if (v != (int) v) throw new LongbowException(command + ": " + name + " is out of range: " + v);
        return (int) v;
    }

    long longValue(String name, long dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new LongbowException(command + ": " + name + " expects an integer, got '" + v + "'");
        }
    }

    /** A size in bytes: digits, optionally followed by K, M, G or T (binary: 1K = 1024). */
    long bytes(String name, long dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        String digits = v.trim();
        int shift = 0;
        if (!digits.isEmpty()) {
            int unit = "KMGT".indexOf(Character.toUpperCase(digits.charAt(digits.length() - 1)));
            if (unit >= 0) {
                shift = 10 * (unit + 1);
                digits = digits.substring(0, digits.length() - 1);
            }
        }
        try {
            long n = Long.parseLong(digits);
            if (n <= 0 || n > Long.MAX_VALUE >> shift) throw new NumberFormatException();
            return n << shift;
        } catch (NumberFormatException e) {
            throw new LongbowException(command + ": " + name + " expects a positive size such as 512M or 4G, got '" + v + "'");
        }
    }

    float number(String name, float dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            float f = Float.parseFloat(v);
            if (Float.isNaN(f)) throw new NumberFormatException();
            return f;
        } catch (NumberFormatException e) {
            throw new LongbowException(command + ": " + name + " expects a number, got '" + v + "'");
        }
    }
}
