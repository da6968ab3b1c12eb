package dev.longbow.cli;

import dev.longbow.format.GgufValue;
import dev.longbow.format.ModelFile;
import dev.longbow.format.ModelLoader;
import dev.longbow.model.ModelConfig;
import dev.longbow.tensor.Tensor;
import dev.longbow.util.Json;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

final class InspectCommand implements Command {
    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String summary() {
        return "show a model's format, architecture, hyper-parameters and tensors";
    }

    @Override
    public String help() {
        return """
                usage: longbow inspect [--model PATH] [--json]

                  --model PATH  model file or folder (default: the embedded sample model)
                  --json        print one JSON object
                """;
    }

    @Override
    public Set<String> valuedOptions() {
        return Set.of("--model");
    }

    @Override
    public Set<String> flags() {
        return Set.of("--json");
    }

    @Override
    public int run(Args a, PrintStream out, PrintStream err) {
        try (ModelFile f = ModelLoader.open(ModelOptions.model(a))) {
            ModelConfig c = f.config();
            Map<String, Object> cfg = new LinkedHashMap<>();
            cfg.put("architecture", c.architecture());
            cfg.put("dim", c.dim());
            cfg.put("hidden_dim", c.hiddenDim());
            cfg.put("layers", c.layers());
            cfg.put("heads", c.heads());
            cfg.put("kv_heads", c.kvHeads());
            cfg.put("head_dim", c.headDim());
            cfg.put("vocab_size", c.vocabSize());
            cfg.put("context_length", c.contextLength());
            cfg.put("norm_eps", c.normEps());
            cfg.put("rope_theta", c.ropeTheta());
            cfg.put("rope_scaling", c.ropeScaling().method().name().toLowerCase());
            cfg.put("rotary_layout", c.rotaryLayout().name().toLowerCase());
            cfg.put("sliding_window", c.slidingWindow());
            long params = 0, bytes = 0;
            List<Map<String, Object>> tensors = new ArrayList<>();
            for (Tensor t : f.tensors().values()) {
                params += t.elementCount();
                bytes += t.data().byteSize();
                tensors.add(Map.of("name", t.name(), "type", t.type().name(), "shape", t.shape()));
            }
            if (a.has("--json")) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("path", f.path().toString());
                o.put("format", f.format().name().toLowerCase());
                o.put("config", cfg);
                o.put("parameters", params);
                o.put("weight_bytes", bytes);
                Map<String, Object> md = new LinkedHashMap<>();
                for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) md.put(e.getKey(), e.getValue().display());
                o.put("metadata", md);
                o.put("tensors", tensors);
                out.println(Json.write(o));
            } else {
                out.println("path          " + f.path());
                out.println("format        " + f.format().name().toLowerCase());
                cfg.forEach((k, v) -> out.printf("%-13s %s%n", k, v));
                out.printf("parameters    %,d (%,d bytes of weights)%n", params, bytes);
                if (!f.metadata().isEmpty()) {
                    out.println("\nmetadata:");
                    f.metadata().forEach((k, v) -> out.printf("  %-44s %s%n", k, v.display()));
                }
                out.println("\ntensors:");
                for (Tensor t : f.tensors().values()) out.printf("  %-32s %-5s %s%n", t.name(), t.type(), java.util.Arrays.toString(t.shape()));
            }
        }
        return 0;
    }
}
