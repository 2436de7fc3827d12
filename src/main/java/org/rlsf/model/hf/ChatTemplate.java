package org.rlsf.model.hf;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.ext.JinjavaBeanELResolver;
import com.hubspot.jinjava.el.ext.JinjavaListELResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import jinjava.javax.el.ArrayELResolver;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;
import jinjava.javax.el.MapELResolver;
import jinjava.javax.el.ResourceBundleELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model's chat template (the Jinja text in {@code tokenizer_config.json}'s {@code chat_template} or a
 * {@code chat_template.jinja} file) rendered as transformers' {@code apply_chat_template} renders it, through HubSpot's
 * Jinjava: {@code trim_blocks} and {@code lstrip_blocks} on, {@code {%-}/{{-} whitespace control, {@code raise_exception},
 * {@code strftime_now}, the special tokens as variables.
 *
 * <p>Chat templates are written against Python's Jinja2 and use a few Python-isms Jinjava lacks; they are bridged here:
 * the string methods templates call ({@code startswith}, {@code endswith}, {@code strip}/{@code lstrip}/{@code rstrip}
 * with or without characters, {@code split}, {@code upper}, {@code lower}, {@code title}, {@code capitalize},
 * {@code replace}), a reversing slice {@code [::-1]} (as the {@code reverse} filter), and {@code namespace(...)}
 * arguments that hold filters ({@code last=messages|length - 1} is parsed as Jinja2 parses it). A template that still
 * fails to render is a clear error, never a silent wrong prompt.
 *
 * <p>{@code strftime_now} formats a fixed date (26 July 2024, Llama 3.1's default {@code date_string}) so that a rerun
 * renders the same prompt.
 */
public final class ChatTemplate {
    /** The date {@code strftime_now} renders, fixed for reproducibility. */
    static final java.time.LocalDate FIXED_DATE = java.time.LocalDate.of(2024, 7, 26);
    private static final Pattern REVERSE_SLICE = Pattern.compile("\\[\\s*::\\s*-1\\s*]");
    private static final Pattern NAMESPACE_CALL = Pattern.compile("\\bnamespace\\s*\\(");
    private static final Pattern NAMED_ARG = Pattern.compile("^\\s*([A-Za-z_][A-Za-z_0-9]*)\\s*=(?!=)(.*)$", Pattern.DOTALL);

    private final String source;
    private final String template;
    private final Map<String, String> specialTokens;
    private final Jinjava jinjava;

    /**
     * @param source        where the template came from, for error messages (e.g. {@code tokenizer_config.json})
     * @param template      the Jinja text
     * @param specialTokens {@code bos_token}, {@code eos_token}, … as template variables
     */
    public ChatTemplate(String source, String template, Map<String, String> specialTokens) {
        this.source = source;
        this.template = bridge(template);
        this.specialTokens = Map.copyOf(specialTokens);
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStrings());
        resolver.add(new ArrayELResolver(true));
        resolver.add(new JinjavaListELResolver(true));
        resolver.add(new MapELResolver(true));
        resolver.add(new ResourceBundleELResolver());
        resolver.add(new JinjavaBeanELResolver(true));
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withKeepNullableLoopValues(true)
                        .withUsePyishObjectMapper(true)
                        .withEvaluateMapKeys(true)
                        .build())
                .build());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    }

    /** One message of a conversation. */
    public record Message(String role, String content) {
        Map<String, Object> asMap() {
            Map<String, Object> m = new HashMap<>();
            m.put("role", role);
            m.put("content", content);
            return m;
        }
    }

    /**
     * The conversation as the model's prompt text, special tokens included as text (they encode to their ids).
     *
     * @param addGenerationPrompt open the assistant's turn at the end (what generation needs)
     * @throws IllegalArgumentException naming the template's source when the template raises or does not render
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = new HashMap<>(specialTokens);
        List<Map<String, Object>> list = new ArrayList<>();
        for (Message m : messages) {
            list.add(m.asMap());
        }
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r;
        try {
            r = jinjava.renderForResult(template, context);
        } catch (RuntimeException e) {
            String raised = raised(e);
            throw new IllegalArgumentException(source + (raised != null ? ": the chat template refuses the conversation: " + raised
                    : ": the chat template does not render: " + rootMessage(e)), e);
        }
        List<String> fatal = new ArrayList<>();
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                String raised = raised(e.getException());
                if (raised != null) {
                    throw new IllegalArgumentException(source + ": the chat template refuses the conversation: " + raised);
                }
                fatal.add((e.getLineno() > 0 ? "line " + e.getLineno() + ": " : "") + e.getMessage());
            }
        }
        if (!fatal.isEmpty()) {
            throw new IllegalArgumentException(source + ": the chat template does not render: " + String.join("; ", fatal)
                    + " (set generate.prompt-template = plain, or put a template that renders in the model directory's "
                    + "chat_template.jinja, which takes precedence over tokenizer_config.json's)");
        }
        return r.getOutput();
    }

    /** The message of a {@code raise_exception} call somewhere in {@code e}'s causes, or null. */
    private static String raised(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof TemplateRaised) {
                return t.getMessage();
            }
        }
        return null;
    }

    /** What {@code raise_exception} throws. */
    static final class TemplateRaised extends IllegalArgumentException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** Called by templates: {@code raise_exception('...')} fails the render with the template's message. */
    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** Called by templates: {@code strftime_now('%d %b %Y')} on {@link #FIXED_DATE}. */
    public static String strftimeNow(String format) {
        return com.hubspot.jinjava.objects.date.StrftimeFormatter.format(FIXED_DATE.atStartOfDay(java.time.ZoneOffset.UTC), format);
    }

    /** The Python-isms Jinjava's parser lacks, rewritten to what it parses with the same meaning. */
    static String bridge(String template) {
        String t = REVERSE_SLICE.matcher(template).replaceAll("|reverse");
        StringBuilder out = new StringBuilder();
        Matcher m = NAMESPACE_CALL.matcher(t);
        int at = 0;
        while (m.find(at)) {
            int open = m.end() - 1, close = matching(t, open);
            if (close < 0) {
                break;
            }
            out.append(t, at, open + 1);
            List<String> args = splitTopLevel(t.substring(open + 1, close));
            for (int i = 0; i < args.size(); i++) {
                Matcher a = NAMED_ARG.matcher(args.get(i));
                out.append(i > 0 ? "," : "");
                out.append(a.matches() ? a.group(1) + "=(" + a.group(2).strip() + ")" : args.get(i));
            }
            out.append(')');
            at = close + 1;
        }
        return out.append(t.substring(at)).toString();
    }

    /** The index of the bracket closing the one at {@code open}, outside string literals; -1 when none. */
    private static int matching(String s, int open) {
        int depth = 0;
        char quote = 0;
        for (int i = open; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (--depth == 0) {
                    return i;
                }
            }
        }
        return -1;
    }

    private static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0, start = 0;
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts;
    }

    /** Python's {@code str} methods that chat templates call, on Java strings. */
    static final class PythonStrings extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
            if (!(base instanceof String s) || method == null) {
                return null;
            }
            Object[] p = params == null ? new Object[0] : params;
            Object result = call(s, method.toString(), p);
            if (result != null) {
                context.setPropertyResolved(true);
            }
            return result;
        }

        static Object call(String s, String method, Object[] p) {
            return switch (method) {
                case "startswith" -> anyOf(p, 0).stream().anyMatch(s::startsWith);
                case "endswith" -> anyOf(p, 0).stream().anyMatch(s::endsWith);
                case "strip" -> rstrip(lstrip(s, chars(p)), chars(p));
                case "lstrip" -> lstrip(s, chars(p));
                case "rstrip" -> rstrip(s, chars(p));
                case "split" -> split(s, p);
                case "upper" -> s.toUpperCase(Locale.ROOT);
                case "lower" -> s.toLowerCase(Locale.ROOT);
                case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "title" -> title(s);
                case "replace" -> p.length >= 2 ? s.replace(String.valueOf(p[0]), String.valueOf(p[1])) : null;
                default -> null;
            };
        }

        private static List<String> anyOf(Object[] p, int i) {
            if (p.length <= i) {
                return List.of();
            }
            if (p[i] instanceof Collection<?> c) {
                return c.stream().map(String::valueOf).toList();
            }
            return List.of(String.valueOf(p[i]));
        }

        /** The characters to strip; null = whitespace. */
        private static String chars(Object[] p) {
            return p.length == 0 || p[0] == null ? null : String.valueOf(p[0]);
        }

        private static boolean strippable(char c, String chars) {
            return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
        }

        private static String lstrip(String s, String chars) {
            int i = 0;
            while (i < s.length() && strippable(s.charAt(i), chars)) {
                i++;
            }
            return s.substring(i);
        }

        private static String rstrip(String s, String chars) {
            int j = s.length();
            while (j > 0 && strippable(s.charAt(j - 1), chars)) {
                j--;
            }
            return s.substring(0, j);
        }

        private static List<String> split(String s, Object[] p) {
            if (p.length == 0 || p[0] == null) {
                String t = s.strip();
                return t.isEmpty() ? List.of() : List.of(t.split("\\s+"));
            }
            String sep = String.valueOf(p[0]);
            if (sep.isEmpty()) {
                throw new IllegalArgumentException("empty separator");
            }
            int max = p.length > 1 && p[1] instanceof Number n ? n.intValue() : -1;
            List<String> out = new ArrayList<>();
            int at = 0, idx;
            while ((max < 0 || out.size() < max) && (idx = s.indexOf(sep, at)) >= 0) {
                out.add(s.substring(at, idx));
                at = idx + sep.length();
            }
            out.add(s.substring(at));
            return out;
        }

        private static String title(String s) {
            StringBuilder b = new StringBuilder(s.length());
            boolean start = true;
            for (char c : s.toCharArray()) {
                b.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
                start = !Character.isLetter(c);
            }
            return b.toString();
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
}
