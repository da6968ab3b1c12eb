package dev.longbow.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.longbow.LongbowException;
import jinjava.javax.el.CompositeELResolver;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template: the Jinja program that turns {@code messages} into the prompt text the model was tuned
 * on, rendered as Hugging Face's {@code apply_chat_template} renders it (trim_blocks and lstrip_blocks on, the
 * template's own trailing newline dropped as Jinja does, {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token},
 * {@code raise_exception} and {@code strftime_now} defined). The text it produces spells special tokens out, so it
 * is tokenized with special tokens parsed and no BOS added: the template writes {@code bos_token} itself if the model
 * wants one, as Hugging Face assumes.
 *
 * <p>Models with no template get {@link #PLAIN}: one "role: content" line per message, then "assistant:", tokenized
 * as ordinary text after BOS (the transcript {@code longbow batch} uses).
 */
final class ChatTemplate {
    static final String PLAIN_SOURCE = "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
            + "{% if add_generation_prompt %}assistant:{% endif %}";

    private static final Jinjava JINJAVA = jinjava();

    static final ChatTemplate PLAIN = new ChatTemplate(PLAIN_SOURCE, "", "", "the built-in plain transcript (the model has no chat template)", true);

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final String origin;
    private final boolean plain;

    private ChatTemplate(String source, String bosToken, String eosToken, String origin, boolean plain) {
        this.source = source;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.origin = origin;
        this.plain = plain;
    }

    /** A model's template; {@code origin} says where it came from, for messages. Syntax errors are caught here. */
    static ChatTemplate of(String source, String bosToken, String eosToken, String origin) {
        JinjavaInterpreter interpreter = JINJAVA.newInterpreter();
        interpreter.parse(source);
        for (TemplateError e : interpreter.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new LongbowException("chat template from " + origin + " does not parse: " + e.getMessage()
                        + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "") + "; give another with --chat-template FILE");
            }
        }
        return new ChatTemplate(withoutTrailingNewline(source), bosToken == null ? "" : bosToken, eosToken == null ? "" : eosToken, origin, false);
    }

    private static String withoutTrailingNewline(String s) {
        if (s.endsWith("\r\n")) return s.substring(0, s.length() - 2);
        if (s.endsWith("\n") || s.endsWith("\r")) return s.substring(0, s.length() - 1);
        return s;
    }

    String origin() {
        return origin;
    }

    /** Whether this is the built-in transcript: its text is ordinary text, to follow BOS. */
    boolean plain() {
        return plain;
    }

    /**
     * The prompt for {@code messages} (each a map with "role", "content" and possibly "name"), ending with the
     * opening of the assistant's turn. A template that refuses the conversation is a 400 with its message.
     */
    String render(List<Map<String, Object>> messages) {
        Map<String, Object> context = new HashMap<>();
        context.put("messages", messages);
        context.put("add_generation_prompt", true);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        TemplateFunctions.takeRaised();
        RenderResult result = JINJAVA.renderForResult(source, context);
        String raised = TemplateFunctions.takeRaised();
        if (raised != null) throw ApiError.badRequest("the model's chat template refused these messages: " + raised, "messages");
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ApiError(500, "server_error", "the chat template from " + origin + " failed: " + e.getMessage(), null, null);
            }
        }
        return result.getOutput();
    }

    private static Jinjava jinjava() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // Jinjava would drop a newline at the end of the output; Jinja drops one at the end of the source.
                .withKeepTrailingNewline(true)
                .withElResolver(resolver)
                .withMaxOutputSize(64L << 20)
                .build());
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class, "raiseException", String.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class, "strftimeNow", String.class));
        return j;
    }
}
