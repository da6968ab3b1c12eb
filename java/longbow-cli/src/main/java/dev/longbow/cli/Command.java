package dev.longbow.cli;

import java.io.PrintStream;
import java.util.Set;

/** One subcommand: its options, its help text, and what it does. */
interface Command {
    String name();

    String summary();

    /** Full help, printed by --help: usage line, then one line per option. */
    String help();

    Set<String> valuedOptions();

    Set<String> flags();

    /** Runs with parsed options; returns the exit code. User errors are thrown as LongbowException. */
    int run(Args args, PrintStream out, PrintStream err) throws Exception;
}
