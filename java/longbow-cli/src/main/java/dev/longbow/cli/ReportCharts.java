package dev.longbow.cli;

import de.erichseifert.vectorgraphics2d.VectorGraphics2D;
import de.erichseifert.vectorgraphics2d.svg.SVGProcessor;
import de.erichseifert.vectorgraphics2d.util.PageSize;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The report's plots, each written as PNG and SVG: perplexity against context, and passkey heatmaps. */
final class ReportCharts {
    private ReportCharts() {}

    /** One line of the perplexity plot: contexts and perplexities measured. */
    record Line(String name, List<Integer> ctx, List<Double> perplexity) {}

    /** Distinct colours for up to 10 lines (Tableau 10), so no two methods look alike. */
    private static final Color[] PALETTE = {new Color(0x4e79a7), new Color(0xf28e2b), new Color(0xe15759), new Color(0x76b7b2),
            new Color(0x59a14f), new Color(0xedc948), new Color(0xb07aa1), new Color(0xff9da7), new Color(0x9c755f), new Color(0xbab0ac)};

    /**
     * Perplexity against context, both axes log2: XChart's own log axes label only powers of ten, which a range of
     * 2 to 100 and contexts of 128 to 4096 would leave almost bare.
     */
    static void perplexity(String title, int trained, List<Line> lines, Path png, Path svg) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title)
                .xAxisTitle("context length (tokens, log scale; trained " + trained + ")").yAxisTitle("perplexity (log scale)").build();
        var style = chart.getStyler();
        style.setxAxisTickLabelsFormattingFunction(x -> Long.toString(Math.round(Math.pow(2, x))));
        style.setyAxisTickLabelsFormattingFunction(y -> String.format(java.util.Locale.ROOT, "%.3g", Math.pow(2, y)));
        style.setLegendPosition(Styler.LegendPosition.OutsideE);
        style.setChartBackgroundColor(Color.WHITE);
        style.setSeriesColors(PALETTE);
        for (Line l : lines) {
            if (l.ctx().isEmpty()) continue;
            List<Double> x = new ArrayList<>(), y = new ArrayList<>();
            for (int i = 0; i < l.ctx().size(); i++) {
                x.add(log2(l.ctx().get(i)));
                y.add(log2(l.perplexity().get(i)));
            }
            chart.addSeries(l.name(), x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        try (OutputStream out = Files.newOutputStream(svg)) {
            VectorGraphicsEncoder.saveVectorGraphic(chart, out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        }
    }

    private static double log2(double v) {
        return Math.log(v) / Math.log(2);
    }

    /** One heatmap: {@code values[depth][ctx]}, null where the method did not run. */
    record Heat(String method, List<Integer> ctx, double[] depths, Double[][] values) {}

    static final int TILE_W = 380, TILE_H = 300, COLUMNS = 4;

    /** Small multiples, one heatmap per method, of key-token accuracy by needle depth and context. */
    static void passkey(String title, List<Heat> heats, Path png, Path svg) throws IOException {
        List<Chart<?, ?>> charts = new ArrayList<>();
        for (Heat h : heats) charts.add(heatmap(h));
        int rows = (charts.size() + COLUMNS - 1) / COLUMNS, header = 40;
        int width = COLUMNS * TILE_W, height = header + rows * TILE_H;

        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        paint(g, title, charts, width, height, header);
        g.dispose();
        ImageIO.write(image, "png", png.toFile());

        // What XChart's VectorGraphicsEncoder does for one chart, for a grid of them.
        VectorGraphics2D vg = new VectorGraphics2D();
        paint(vg, title, charts, width, height, header);
        try (OutputStream out = Files.newOutputStream(svg)) {
            new SVGProcessor().getDocument(vg.getCommands(), new PageSize(0, 0, width, height)).writeTo(out);
        }
    }

    private static void paint(Graphics2D g, String title, List<Chart<?, ?>> charts, int width, int height, int header) {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(g.getFont().deriveFont(java.awt.Font.BOLD, 16f));
        g.drawString(title, 12, 26);
        for (int i = 0; i < charts.size(); i++) {
            Graphics2D tile = (Graphics2D) g.create((i % COLUMNS) * TILE_W, header + (i / COLUMNS) * TILE_H, TILE_W, TILE_H);
            charts.get(i).paint(tile, TILE_W, TILE_H);
            tile.dispose();
        }
    }

    private static HeatMapChart heatmap(Heat h) {
        HeatMapChart chart = new HeatMapChartBuilder().width(TILE_W).height(TILE_H).title(h.method())
                .xAxisTitle("context").yAxisTitle("needle depth").build();
        var style = chart.getStyler();
        style.setMin(0).setMax(1).setShowValue(true).setHeatMapValueDecimalPattern("0.00")
                .setRangeColors(new Color[]{new Color(0xf7fbff), new Color(0x6baed6), new Color(0x08306b)});
        style.setChartBackgroundColor(Color.WHITE);
        style.setLegendVisible(false);
        List<String> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int c : h.ctx()) xs.add(Integer.toString(c));
        for (double d : h.depths()) ys.add(Double.toString(d));
        List<Number[]> cells = new ArrayList<>();
        for (int y = 0; y < h.depths().length; y++) {
            for (int x = 0; x < h.ctx().size(); x++) if (h.values()[y][x] != null) cells.add(new Number[]{x, y, h.values()[y][x]});
        }
        chart.addSeries("key-token accuracy", xs, ys, cells);
        return chart;
    }
}
