package dev.longbow.server;

import dev.longbow.LongbowException;

import java.nio.file.Path;

/**
 * How to serve: the address ({@code port} 0 picks a free one), an optional API key clients must send as
 * {@code Authorization: Bearer KEY}, how many requests may run the model at once (the others wait), the largest
 * request body accepted, and where the model came from (its id is the file or folder name; the chat template is
 * looked up beside it, in {@code tokenizer}'s folder, or read from {@code chatTemplate}).
 */
public record ServerOptions(String host, int port, String apiKey, int parallel, long maxBodyBytes, Path modelPath, Path tokenizer,
                            Path chatTemplate) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080, DEFAULT_PARALLEL = 4;
    public static final long DEFAULT_MAX_BODY = 8L << 20;

    public ServerOptions {
        if (host == null || host.isBlank()) host = DEFAULT_HOST;
        if (port < 0 || port > 65535) throw new LongbowException("port must be between 0 and 65535, got " + port);
        if (apiKey != null && apiKey.isEmpty()) throw new LongbowException("the API key is empty");
        if (parallel < 1) throw new LongbowException("parallel must be >= 1, got " + parallel);
        if (maxBodyBytes < 1) throw new LongbowException("the body limit must be >= 1 byte, got " + maxBodyBytes);
        if (modelPath == null) throw new LongbowException("the model path is required (it names the model)");
    }

    public static ServerOptions of(Path modelPath) {
        return new ServerOptions(DEFAULT_HOST, DEFAULT_PORT, null, DEFAULT_PARALLEL, DEFAULT_MAX_BODY, modelPath, null, null);
    }

    public ServerOptions withPort(int p) {
        return new ServerOptions(host, p, apiKey, parallel, maxBodyBytes, modelPath, tokenizer, chatTemplate);
    }

    public ServerOptions withApiKey(String key) {
        return new ServerOptions(host, port, key, parallel, maxBodyBytes, modelPath, tokenizer, chatTemplate);
    }

    public ServerOptions withParallel(int n) {
        return new ServerOptions(host, port, apiKey, n, maxBodyBytes, modelPath, tokenizer, chatTemplate);
    }

    public ServerOptions withMaxBodyBytes(long n) {
        return new ServerOptions(host, port, apiKey, parallel, n, modelPath, tokenizer, chatTemplate);
    }

    public ServerOptions withChatTemplate(Path p) {
        return new ServerOptions(host, port, apiKey, parallel, maxBodyBytes, modelPath, tokenizer, p);
    }

    /** The model's id in the API: the file or folder name it was loaded from. */
    public String modelId() {
        Path name = modelPath.toAbsolutePath().normalize().getFileName();
        return name == null ? modelPath.toString() : name.toString();
    }
}
