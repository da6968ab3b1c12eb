package dev.longbow.server;

import dev.longbow.LongbowException;
import dev.longbow.api.GenerateRequest;
import dev.longbow.api.GenerateResult;
import dev.longbow.api.LoadOptions;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.convert.GgufConverter;
import dev.longbow.engine.SamplerParams;
import dev.longbow.format.GgufValue;
import dev.longbow.format.GgufWriter;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;
import dev.longbow.tokenizer.Tokenizer;
import dev.longbow.tokenizer.Tokenizers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat templates: the real Llama 3 and Qwen2 templates from their tokenizer_config.json rendered to the text their
 * definitions produce (written out by hand below), a template read from GGUF metadata and used by the chat endpoint,
 * and the Jinja behaviour Hugging Face relies on (trim_blocks, lstrip_blocks, raise_exception, Python string methods).
 */
class ChatTemplateTest {
    @TempDir
    static Path dir;

    static Model model;

    @BeforeAll
    static void load() {
        model = Longbow.load(TestServer.bundledModel(), LoadOptions.DEFAULT.withThreads(1));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static List<Map<String, Object>> messages(String... roleContent) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < roleContent.length; i += 2) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("role", roleContent[i]);
            m.put("content", roleContent[i + 1]);
            out.add(m);
        }
        return out;
    }

    static ChatTemplate template(String source) {
        return ChatTemplate.of(source, "<s>", "</s>", "a test");
    }

    @Test
    void llama3TemplateFromTokenizerConfig() {
        Path folder = TestServer.shared("vocab/llama3");
        ChatTemplate t = ChatTemplates.find(model, TestServer.bundledModel(), folder, null);
        assertTrue(t.origin().endsWith("tokenizer_config.json (chat_template)"), t.origin());
        assertTrue(!t.plain());
        // Each message: <|start_header_id|>role<|end_header_id|>\n\n + content|trim + <|eot_id|>, bos_token before the
        // first; then the assistant header.
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHi.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        String rendered = t.render(messages("system", "  You are terse.\n", "user", "Hello!", "assistant", "Hi.", "user", " Bye "));
        assertEquals(expected, rendered);

        // Tokenized as the server does (special tokens parsed, no BOS added): the header tokens are single ids.
        Tokenizer llama3 = Tokenizers.load(folder);
        int[] ids = llama3.encode(rendered, false, true);
        assertEquals(128000, ids[0], "<|begin_of_text|> once, from the template");
        assertEquals(128006, ids[1]);
        assertEquals(1, count(ids, 128000));
        assertEquals(5, count(ids, 128006), "<|start_header_id|>");
        assertEquals(5, count(ids, 128007), "<|end_header_id|>");
        assertEquals(4, count(ids, 128009), "<|eot_id|>");
    }

    @Test
    void qwen2TemplateFromTokenizerConfig() {
        ChatTemplate t = ChatTemplates.find(model, TestServer.bundledModel(), TestServer.shared("vocab/qwen2"), null);
        // Without a system message the template adds its default one; a given one is kept verbatim (no trim).
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
                t.render(messages("user", "Hello!")));
        assertEquals("<|im_start|>system\n Terse. <|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHey<|im_end|>\n"
                        + "<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n",
                t.render(messages("system", " Terse. ", "user", "Hi", "assistant", "Hey", "user", "Again")));
    }

    @Test
    void modelWithoutTemplateGetsThePlainTranscript() {
        ChatTemplate t = ChatTemplates.find(model, TestServer.bundledModel(), null, null);
        assertTrue(t.plain());
        assertEquals("system: Be nice.\nuser: Hi there\nassistant:", t.render(messages("system", "Be nice.", "user", "Hi there")));
    }

    @Test
    void folderTemplatesChatTemplateJinjaFirstThenNamedDefault() throws Exception {
        Path hf = Files.createDirectories(dir.resolve("hf"));
        Files.writeString(hf.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<B>", "special": true}, "eos_token": "<E>",
                 "chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "{{ bos_token }}D{{ messages[0]['content'] }}{{ eos_token }}"}]}
                """);
        assertEquals("<B>Dhi<E>", ChatTemplates.find(model, TestServer.bundledModel(), hf, null).render(messages("user", "hi")));
        Files.writeString(hf.resolve("chat_template.jinja"), "{{ bos_token }}J{{ messages[0]['content'] }}\n");
        ChatTemplate t = ChatTemplates.find(model, TestServer.bundledModel(), hf.resolve("tokenizer.json"), null);
        assertEquals("<B>Jhi", t.render(messages("user", "hi")), "chat_template.jinja wins; a single trailing newline is dropped, as Jinja does");
        assertTrue(t.origin().endsWith("chat_template.jinja"));

        Path override = Files.writeString(dir.resolve("mine.jinja"), "M{{ messages | length }}");
        assertEquals("M2", ChatTemplates.find(model, TestServer.bundledModel(), hf, override).render(messages("user", "a", "assistant", "b")));
        assertThrows(LongbowException.class, () -> ChatTemplates.find(model, TestServer.bundledModel(), null, dir.resolve("absent.jinja")));
    }

    @Test
    void ggufMetadataTemplateDrivesTheChatEndpoint() throws Exception {
        Path plain = dir.resolve("plain.gguf"), templated = dir.resolve("chat.gguf");
        String source = "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";
        try (ModelFile f = ModelLoader.open(TestServer.bundledModel())) {
            GgufConverter.convert(f, Tokenizers.forModel(f, null), WeightType.F32, plain);
        }
        try (ModelFile f = ModelLoader.open(plain)) {
            Map<String, GgufValue> md = new LinkedHashMap<>(f.metadata());
            md.put("tokenizer.chat_template", GgufValue.string(source));
            List<GgufWriter.OutTensor> tensors = new ArrayList<>();
            for (Tensor t : f.tensors().values()) tensors.add(new GgufWriter.OutTensor(t.name(), t.type(), t.shape(), t::data));
            GgufWriter.write(templated, md, tensors);
        }
        try (Model gguf = Longbow.load(templated, LoadOptions.DEFAULT.withThreads(1));
             TestServer server = TestServer.on(gguf, templated, o -> o)) {
            ChatTemplate t = ChatTemplates.find(gguf, templated, null, null);
            assertTrue(t.origin().contains("GGUF tokenizer.chat_template"), t.origin());
            String bos = gguf.tokenizer().piece(gguf.tokenizer().bos());
            String prompt = bos + "<|user|>Tell me a story.<|assistant|>";
            assertEquals(prompt, t.render(messages("user", "Tell me a story.")));

            GenerateResult expected = gguf.generate(new GenerateRequest(prompt, 12, SamplerParams.GREEDY, false, true, false, null));
            Map<String, Object> r = server.post("/v1/chat/completions",
                    "{\"model\": \"chat.gguf\", \"messages\": [{\"role\": \"user\", \"content\": \"Tell me a story.\"}], \"max_tokens\": 12, \"temperature\": 0}").json();
            assertEquals(expected.text(), ServerTest.map(ServerTest.choice(r).get("message")).get("content"));
            assertEquals((long) expected.promptTokens(), ServerTest.num(ServerTest.map(r.get("usage")).get("prompt_tokens")));
            assertEquals(gguf.tokenizer().encode(prompt, false, true).length, expected.promptTokens(), "the rendered BOS is the only BOS");
        }
    }

    @Test
    void raiseExceptionIsA400WithTheTemplatesMessage() throws Exception {
        ChatTemplate t = template("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                + "{% for m in messages %}{{ m['content'] }}{% endfor %}");
        assertEquals("hi", t.render(messages("user", "hi")));
        ApiError e = assertThrows(ApiError.class, () -> t.render(messages("system", "x", "user", "hi")));
        assertEquals(400, e.status);
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());

        Path file = Files.writeString(dir.resolve("strict.jinja"), "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}");
        try (TestServer server = TestServer.on(model, TestServer.bundledModel(), o -> o.withChatTemplate(file))) {
            Map<String, Object> err = server.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}").error(400);
            assertTrue(((String) err.get("message")).contains("Conversation roles must alternate"), err.toString());
            // A template that fails for reasons of its own is the server's fault, not the client's.
            Files.writeString(file, "{{ messages[0]['content'].no_such_method() }}");
        }
        try (TestServer server = TestServer.on(model, TestServer.bundledModel(), o -> o.withChatTemplate(file))) {
            Map<String, Object> err = server.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}").error(500);
            assertEquals("server_error", err.get("type"));
        }
    }

    @Test
    void jinjaAsHuggingFaceConfiguresIt() {
        // trim_blocks and lstrip_blocks: block tags on their own lines leave no whitespace behind.
        assertEquals("a\nb\n", template("""
                {% for m in messages %}
                  {% if m['content'] %}
                {{ m['content'] }}
                  {% endif %}
                {% endfor %}
                """).render(messages("user", "a", "user", "b")));
        // Python string methods, as templates call them on message content.
        assertEquals("answer|T|USER|x-y|a,b,c", template("{% set c = messages[0]['content'] %}"
                + "{{ c.split('</think>')[-1].strip() }}|{% if c.startswith('<think>') %}T{% endif %}|{{ messages[0]['role'].upper() }}|"
                + "{{ 'x_y'.replace('_', '-') }}|{{ ' a  b c '.split() | join(',') }}").render(messages("user", "<think>hmm</think>  answer ")));
        assertEquals("ok", template("{% if messages[0]['content'].endswith(('x', 'i')) %}ok{% endif %}").render(messages("user", "hi")));
        // namespace() and loop variables, as tool-calling templates use them.
        assertEquals("2 last", template("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% if loop.last %}{{ ns.n }} last{% endif %}{% endfor %}")
                .render(messages("user", "a", "assistant", "b")));
    }

    @Test
    void pythonSplitAndStripSemantics() {
        assertEquals(List.of("a", "b", "c"), PythonStringMethods.split("  a b\tc \n", null, -1));
        assertEquals(List.of("a", "b c "), PythonStringMethods.split("a b c ", null, 1));
        assertEquals(List.of("", "a", "", "b"), PythonStringMethods.split(",a,,b", ",", -1));
        assertEquals(List.of("a", "b,c"), PythonStringMethods.split("a,b,c", ",", 1));
        assertEquals("abc", PythonStringMethods.strip("xxabcyx", "xy", true, true));
        assertEquals("abc  ", PythonStringMethods.strip("  abc  ", null, true, false));
    }

    @Test
    void strftimeNowFormatsAsPython() {
        LocalDateTime t = LocalDateTime.of(2024, 7, 5, 14, 3, 9);
        assertEquals("05 Jul 2024", TemplateFunctions.strftime("%d %b %Y", t));
        assertEquals("Friday, July 05 24 02:03:09 PM 187 %", TemplateFunctions.strftime("%A, %B %d %y %I:%M:%S %p %j %%", t));
        String today = template("{{ strftime_now('%Y') }}").render(messages("user", "x"));
        assertEquals(String.valueOf(LocalDateTime.now().getYear()), today);
    }

    @Test
    void aTemplateThatDoesNotParseIsRefusedAtStartup() {
        LongbowException e = assertThrows(LongbowException.class, () -> ChatTemplate.of("{% for m in messages %}{{ m }}", "", "", "broken.jinja"));
        assertTrue(e.getMessage().contains("broken.jinja") && e.getMessage().contains("--chat-template"), e.getMessage());
    }

    private static int count(int[] ids, int id) {
        int n = 0;
        for (int x : ids) if (x == id) n++;
        return n;
    }
}
