package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.Longbow;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code longbow <command> [options]}. Every user-facing failure is one line on stderr and exit code 1;
 * a stack trace appears only with LONGBOW_DEBUG=1.
 */
public final class Main {
    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        for (Command c : List.of(new GenerateCommand(), new BatchCommand(), new ServeCommand(), new TokenizeCommand(), new InspectCommand(),
                new ConvertCommand(), new SynthCommand(), new BenchCommand(), new TrainTokenizerCommand(), new RopeTableCommand(),
                new PerplexityCommand(), new PasskeyCommand(), new LongContextReportCommand(), new BenchKernelsCommand(),
                new CalibrateCommand(), new CompressCommand(), new PruneCommand())) {
            COMMANDS.put(c.name(), c);
        }
    }

    private Main() {}

    public static void main(String[] argv) {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code = run(argv, out, err);
        out.flush();
        System.exit(code);
    }

    /** Runs a command line and returns its exit code; used by main and by tests. */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
            out.print(usage());
            return argv.length == 0 ? 1 : 0;
        }
        if (argv[0].equals("--version") || argv[0].equals("version")) {
            out.println("longbow " + Longbow.VERSION + " (Java " + Runtime.version() + ")");
            return 0;
        }
        Command cmd = COMMANDS.get(argv[0]);
        if (cmd == null) {
            err.println("longbow: unknown command '" + argv[0] + "' (commands: " + String.join(", ", COMMANDS.keySet()) + ")");
            return 1;
        }
        List<String> rest = Arrays.asList(argv).subList(1, argv.length);
        if (rest.contains("--help") || rest.contains("-h")) {
            out.print(cmd.help());
            return 0;
        }
        try {
            Set<String> flags = new HashSet<>(cmd.flags());
            return cmd.run(new Args(cmd.name(), rest, cmd.valuedOptions(), flags), out, err);
        } catch (LongbowException e) {
            err.println("longbow: " + oneLine(e.getMessage()));
            debug(e, err);
            return 1;
        } catch (OutOfMemoryError e) {
            err.println("longbow: out of memory (" + e.getMessage() + "); give the JVM more with LONGBOW_HEAP, or use a smaller model or --ctx");
            return 1;
        } catch (java.nio.file.NoSuchFileException e) {
            err.println("longbow: " + e.getMessage() + ": no such file");
            return 1;
        } catch (java.io.IOException e) {
            err.println("longbow: I/O error: " + oneLine(String.valueOf(e.getMessage())));
            debug(e, err);
            return 1;
        } catch (Exception | StackOverflowError e) {
            err.println("longbow: internal error: " + e.getClass().getSimpleName() + ": " + oneLine(String.valueOf(e.getMessage()))
                    + " (please report it; LONGBOW_DEBUG=1 shows the stack trace)");
            debug(e, err);
            return 1;
        }
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }

    private static void debug(Throwable e, PrintStream err) {
        if ("1".equals(System.getenv("LONGBOW_DEBUG"))) e.printStackTrace(err);
    }

    static String usage() {
        StringBuilder sb = new StringBuilder("usage: longbow <command> [options]   (longbow <command> --help for its options)\n\ncommands:\n");
        for (Command c : COMMANDS.values()) sb.append(String.format("  %-16s %s%n", c.name(), c.summary()));
        sb.append("  --version        print the version\n");
        return sb.toString();
    }
}
