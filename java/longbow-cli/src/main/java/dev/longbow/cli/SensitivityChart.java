package dev.longbow.cli;

import dev.longbow.compress.CompressionPlan;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The calibration plan as two bar charts (PNG): per layer, the perplexity change with that layer alone in INT8, and
 * the Hessian-trace proxy (log scale), attention projections and feed-forward layers in different colours.
 */
final class SensitivityChart {
    private SensitivityChart() {}

    private static final Color ATTENTION = new Color(0x4e79a7), FEED_FORWARD = new Color(0xf28e2b);

    /** Writes {@code png} (perplexity change) and {@code png}'s name with "-proxy" before ".png" (the proxy). */
    static List<Path> write(CompressionPlan plan, String title, Path png) throws IOException {
        List<Double> attnPpl = new ArrayList<>(), ffnPpl = new ArrayList<>(), attnProxy = new ArrayList<>(), ffnProxy = new ArrayList<>();
        List<String> all = new ArrayList<>();
        for (CompressionPlan.Layer l : plan.layers()) all.add(label(l.name()));
        for (CompressionPlan.Layer l : plan.layers()) {
            boolean attn = l.kind().startsWith("attn_");
            // Category charts want every series over every category: a layer of the other kind is 0 (no bar).
            attnPpl.add(attn ? 100 * l.sensitivity() : 0);
            ffnPpl.add(attn ? 0 : 100 * l.sensitivity());
            attnProxy.add(attn ? Math.log10(l.hessianProxy()) : 0);
            ffnProxy.add(attn ? 0 : Math.log10(l.hessianProxy()));
        }
        Path proxy = png.resolveSibling(png.getFileName().toString().replaceFirst("\\.png$", "") + "-proxy.png");
        save(chart(title + ": perplexity change with one layer in INT8", "perplexity change (%)", all, attnPpl, ffnPpl), png);
        save(chart(title + ": Hessian-trace proxy, trace(X^T X)/n * ||W - Q(W)||^2", "log10 proxy", all, attnProxy, ffnProxy), proxy);
        return List.of(png, proxy);
    }

    private static String label(String name) {
        return name.replace("blk.", "").replace(".weight", "").replace("attn_output", "wo").replace("attn_", "w")
                .replace("ffn_gate", "w1").replace("ffn_up", "w3").replace("ffn_down", "w2");
    }

    private static CategoryChart chart(String title, String yTitle, List<String> x, List<Double> attn, List<Double> ffn) {
        CategoryChart c = new CategoryChartBuilder().width(1100).height(520).title(title).xAxisTitle("layer (block.projection)").yAxisTitle(yTitle).build();
        var s = c.getStyler();
        s.setChartBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setOverlapped(true);
        s.setXAxisLabelRotation(90);
        s.setSeriesColors(new Color[]{ATTENTION, FEED_FORWARD});
        c.addSeries("attention (wq, wk, wv, wo)", x, attn);
        c.addSeries("feed-forward (w1, w3, w2)", x, ffn);
        return c;
    }

    private static void save(CategoryChart c, Path png) throws IOException {
        BitmapEncoder.saveBitmap(c, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
