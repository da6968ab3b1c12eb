package dev.longbow.cuda.gpu;

import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.SampleKernel;
import dev.longbow.cuda.reference.SampleReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Top-k / top-p / min-p sampling on the device picks exactly the reference's token (and so the CPU sampler's: see
 * SampleReferenceMatchesSamplerTest) for the same logits and draw u: 100 draws per setting, ties, -inf logits, vocab
 * sizes to Llama 3's 128,256, top-k 1 to 256.
 */
class SampleKernelTest {
    @ParameterizedTest
    @CsvSource({"512,40,0.8,0.9,0", "512,1,1.0,1.0,0", "32000,256,1.2,0.95,0.05", "128256,50,0.7,1.0,0.1", "100,256,2.0,0.5,0"})
    void sameTokenAsTheReference(int vocab, int topK, float temperature, float topP, float minP) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(vocab + topK);
        long out = DeviceArrays.zeros(d, 4);
        for (int i = 0; i < 100; i++) {
            float[] logits = new float[vocab];
            for (int j = 0; j < vocab; j++) logits[j] = (float) (r.nextGaussian() * 3);
            logits[r.nextInt(vocab)] = logits[r.nextInt(vocab)];
            logits[r.nextInt(vocab)] = Float.NEGATIVE_INFINITY;
            float u = r.nextFloat();
            long dl = DeviceArrays.upload(d, logits);
            SampleKernel.launch(k, 0, dl, out, vocab, topK, temperature, topP, minP, u);
            assertEquals(SampleReference.apply(logits, topK, temperature, topP, minP, u), DeviceArrays.ints(d, out, 1)[0], "draw " + i);
            d.free(dl);
        }
        d.free(out);
    }
}
