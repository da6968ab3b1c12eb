package dev.longbow.server;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * The functions Hugging Face adds to the Jinja environment it renders chat templates in, registered with Jinjava
 * under the same names: {@code raise_exception(message)} (a template refusing a conversation, as Llama 2's does when
 * roles do not alternate) and {@code strftime_now(format)} (Llama 3.1's "Today Date").
 */
public final class TemplateFunctions {
    /** The message of the last raise_exception on this thread: Jinjava reports only that the call failed. */
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    private TemplateFunctions() {}

    public static String raiseException(String message) {
        RAISED.set(message);
        throw new IllegalStateException(message);
    }

    /** Takes the message a render raised, if any, and forgets it. */
    static String takeRaised() {
        String m = RAISED.get();
        RAISED.remove();
        return m;
    }

    public static String strftimeNow(String format) {
        return strftime(format, LocalDateTime.now());
    }

    /** Python's strftime for the directives chat templates use (C locale). */
    static String strftime(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case 'b' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }
}
