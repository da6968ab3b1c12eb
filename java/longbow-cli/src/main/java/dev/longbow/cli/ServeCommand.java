package dev.longbow.cli;

import dev.longbow.LongbowException;
import dev.longbow.api.Longbow;
import dev.longbow.api.Model;
import dev.longbow.server.Server;
import dev.longbow.server.ServerOptions;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** {@code longbow serve}: an OpenAI-compatible HTTP server for one model, until interrupted. */
final class ServeCommand implements Command {
    @Override
    public String name() {
        return "serve";
    }

    @Override
    public String summary() {
        return "serve a model over an OpenAI-compatible HTTP API";
    }

    @Override
    public String help() {
        return "usage: longbow serve [--model PATH] [--host H] [--port P] [--api-key KEY] [options]\n\n"
                + """
                Serves /v1/completions, /v1/chat/completions (streaming or not), /v1/embeddings, /v1/models, /health
                and Prometheus /metrics until interrupted (docs/SERVING.md). Chat messages go through the model's own
                chat template (GGUF tokenizer.chat_template, or chat_template.jinja / tokenizer_config.json beside
                the model or its tokenizer), else a plain "role: content" transcript.

                  --host H            address to listen on (default 127.0.0.1)
                  --port P            port (default 8080; 0 = any free port); the address is printed on stderr
                  --api-key KEY       require "Authorization: Bearer KEY" (default: $LONGBOW_API_KEY if set, else none)
                  --parallel N        requests running the model at once, the rest wait (default 4); above 1
                                      they decode as one batch (each step reads the weights once for all)
                  --no-batching       with --parallel, run each request's own forward passes instead
                """ + BatchingFlags.HELP + """
                  --max-body BYTES    largest request body accepted (default 8388608)
                  --chat-template F   a Jinja chat template file to use instead of the model's
                """ + ModelOptions.HELP;
    }

    @Override
    public Set<String> valuedOptions() {
        return ContextFlags.with(Set.of("--model", "--tokenizer", "--threads", "--ctx", "--host", "--port", "--api-key", "--parallel",
                "--max-body", "--chat-template", "--kv-memory"));
    }

    @Override
    public Set<String> flags() {
        return Set.of("--reference-kernels", "--no-batching", "--no-prefix-cache");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) throws Exception {
        try {
            Class.forName("dev.longbow.server.Server");
        } catch (ClassNotFoundException | LinkageError e) {
            throw new LongbowException("serve: this build has no server module (scripts/package-runtime leaves it out); use scripts/longbow serve");
        }
        if (a.has("--api-key") && a.str("--api-key", "").isEmpty()) throw new LongbowException("serve: --api-key is empty");
        String key = a.str("--api-key", System.getenv("LONGBOW_API_KEY"));
        Path modelPath = ModelOptions.model(a);
        ServerOptions options = new ServerOptions(a.str("--host", ServerOptions.DEFAULT_HOST), a.integer("--port", ServerOptions.DEFAULT_PORT),
                key == null || key.isEmpty() ? null : key, a.integer("--parallel", ServerOptions.DEFAULT_PARALLEL),
                a.longValue("--max-body", ServerOptions.DEFAULT_MAX_BODY), modelPath, a.path("--tokenizer"), a.path("--chat-template"));
        try (Model model = Longbow.load(modelPath, ModelOptions.load(a, err))) {
            BatchingFlags.apply(model, a, options.parallel() > 1 && !a.has("--no-batching"), options.parallel(),
                    "it needs --parallel above 1 and no --no-batching", err);
            Server server = Server.start(model, options, err);
            // SIGINT/SIGTERM: stop running generations and close the socket before the JVM goes.
            Thread hook = new Thread(server::close, "longbow-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
            err.println("longbow: serving " + options.modelId() + " on http://" + host + ":" + server.port());
            err.println("longbow: chat template: " + server.chatTemplateOrigin());
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                // Interrupted by an embedding program or a test: stop serving and return.
            } finally {
                server.close();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // The hook is running already.
                }
            }
        }
        return 0;
    }
}
