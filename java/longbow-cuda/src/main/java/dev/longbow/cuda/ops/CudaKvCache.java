package dev.longbow.cuda.ops;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvCache;
import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.AttentionKernel;

/**
 * Keys and values in F16 pages of {@link AttentionKernel#PAGE} positions on the device, found through a block table
 * per layer (the layout of cuda-kernels/attention.cuh). The pool holds every page of the context, reserved at creation:
 * the tables map block i of layer l to page l * blocks + i. The kernels read only the tables, so a pool that grows,
 * reuses evicted pages or offloads cold ones to pinned host memory changes this class and nothing else (not done yet).
 */
final class CudaKvCache implements KvCache {
    private final GpuDriver driver;
    final int layers, contextLength, kvHeads, headDim, blocks;
    final long kPool, vPool, tables;
    private final long poolBytes;

    CudaKvCache(GpuDriver driver, int layers, int contextLength, int kvHeads, int headDim) {
        this.driver = driver;
        this.layers = layers;
        this.contextLength = contextLength;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.blocks = (contextLength + AttentionKernel.PAGE - 1) / AttentionKernel.PAGE;
        this.poolBytes = 2L * layers * blocks * kvHeads * AttentionKernel.PAGE * headDim;
        int[] table = new int[layers * blocks];
        for (int i = 0; i < table.length; i++) table[i] = i;
        try {
            kPool = driver.malloc(poolBytes);
        } catch (LongbowException e) {
            throw tooBig(e);
        }
        try {
            vPool = driver.malloc(poolBytes);
        } catch (LongbowException e) {
            driver.free(kPool);
            throw tooBig(e);
        }
        tables = DeviceArrays.upload(driver, table);
    }

    private LongbowException tooBig(LongbowException e) {
        return new LongbowException("the KV cache for a context of " + contextLength + " needs " + (2 * poolBytes >> 20)
                + " MiB of GPU memory (lower --ctx): " + e.getMessage());
    }

    long table(int layer) {
        return tables + 4L * layer * blocks;
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public long reservedBytes() {
        return 2 * poolBytes;
    }

    @Override
    public void evict(int keep, int before) {
        // Every page stays reserved (see the class comment): nothing to release.
    }

    @Override
    public void close() {
        driver.free(kPool);
        driver.free(vPool);
        driver.free(tables);
    }
}
