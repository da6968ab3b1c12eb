package dev.longbow.server;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * The Python string methods chat templates call ({@code content.startswith('<tool_response>')},
 * {@code content.split('</think>')[-1]}, {@code .strip()}): Jinja runs on Python, where they exist on every string;
 * Jinjava runs on Java, where they do not (or mean something else, as Java's regex {@code split}). Resolves only
 * calls on strings by those names, with Python's semantics; everything else falls through to Jinjava's resolver.
 */
final class PythonStringMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name)) return null;
        Object[] a = params == null ? new Object[0] : params;
        Object result = switch (name) {
            case "startswith" -> a.length == 1 ? anyMatch(a[0], s::startsWith) : null;
            case "endswith" -> a.length == 1 ? anyMatch(a[0], s::endsWith) : null;
            case "strip" -> a.length <= 1 ? strip(s, chars(a), true, true) : null;
            case "lstrip" -> a.length <= 1 ? strip(s, chars(a), true, false) : null;
            case "rstrip" -> a.length <= 1 ? strip(s, chars(a), false, true) : null;
            case "split" -> a.length <= 2 ? split(s, a.length > 0 && a[0] != null ? a[0].toString() : null,
                    a.length > 1 ? ((Number) a[1]).intValue() : -1) : null;
            case "upper" -> a.length == 0 ? s.toUpperCase(Locale.ROOT) : null;
            case "lower" -> a.length == 0 ? s.toLowerCase(Locale.ROOT) : null;
            case "replace" -> a.length == 2 ? s.replace(a[0].toString(), a[1].toString()) : null;
            default -> null;
        };
        if (result != null) context.setPropertyResolved(true);
        return result;
    }

    private static Boolean anyMatch(Object arg, java.util.function.Predicate<String> test) {
        if (arg instanceof List<?> options) {
            for (Object o : options) if (test.test(String.valueOf(o))) return true;
            return false;
        }
        return test.test(String.valueOf(arg));
    }

    private static String chars(Object[] a) {
        return a.length == 0 || a[0] == null ? null : a[0].toString();
    }

    /** Python's strip: whitespace by default, else any of {@code chars}. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int from = 0, to = s.length();
        if (left) while (from < to && strippable(s.charAt(from), chars)) from++;
        if (right) while (to > from && strippable(s.charAt(to - 1), chars)) to--;
        return s.substring(from, to);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) || Character.isSpaceChar(c) : chars.indexOf(c) >= 0;
    }

    /** Python's split: on runs of whitespace without a separator (no empty items), else on each separator. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0, n = s.length();
            while (true) {
                while (i < n && Character.isWhitespace(s.charAt(i))) i++;
                if (i >= n) break;
                if (maxSplit >= 0 && out.size() == maxSplit) {
                    out.add(s.substring(i));
                    break;
                }
                int j = i;
                while (j < n && !Character.isWhitespace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        int from = 0;
        for (int at; (maxSplit < 0 || out.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0; from = at + sep.length()) {
            out.add(s.substring(from, at));
        }
        out.add(s.substring(from));
        return out;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
